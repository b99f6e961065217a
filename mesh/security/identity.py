"""Peer identity: SPIFFE IDs in certificate URI SANs.

Every mesh process is named ``spiffe://<trust-domain>/country/<CC>/<role>/<name>`` with
role ``node``, ``gateway`` or ``operator``. Authorization reads this from the peer's
*verified* certificate, never from a header:

* server side, :func:`peer_identity` reads it from the gRPC auth context (the client
  certificate gRPC already verified against the trust bundle), and the server's trust
  store (:mod:`mesh.security.trust`) decides whether that certificate may be anyone: exactly one
  SPIFFE ID, issued by its own country's CA, not revoked;
* client side, :func:`mesh.security.tls.verify_peer_identity` checks the server a channel talks to
  (gRPC Python does not expose the server certificate, see :mod:`mesh.security.tls`);
* :func:`client_identity_of` reads our own identity from ``[tls].cert``.

Patterns such as ``spiffe://allelemesh.example/country/*/gateway/*`` match segment by
segment (:func:`identity_pattern_matches`); ``*`` never spans a ``/``.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from cryptography import x509

from mesh.errors import ConfigError, InvalidArgumentError

if TYPE_CHECKING:
    import grpc

    from mesh.config import TlsConfig

SCHEME = "spiffe://"
ROLES = ("node", "gateway", "operator")

_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]{1,255}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CC = re.compile(r"^[A-Z]{2}$")


def validate_trust_domain(trust_domain: str) -> None:
    """Raise :class:`ConfigError` unless ``trust_domain`` is a SPIFFE trust domain name."""
    if not _TRUST_DOMAIN.match(trust_domain):
        raise ConfigError(
            f"trust domain {trust_domain!r} must be lower-case letters, digits, '.', '-' or '_'"
        )


@dataclass(frozen=True, order=True)
class SpiffeId:
    """``spiffe://<trust_domain>/country/<country>/<role>/<name>``."""

    trust_domain: str
    country: str
    role: str
    name: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.trust_domain}/country/{self.country}/{self.role}/{self.name}"

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad part."""
        validate_trust_domain(self.trust_domain)
        if not _CC.match(self.country):
            raise ConfigError(f"country {self.country!r} must be an ISO 3166-1 alpha-2 code")
        if self.role not in ROLES:
            raise ConfigError(f"role {self.role!r} must be one of {', '.join(ROLES)}")
        if not _NAME.match(self.name):
            raise ConfigError(f"name {self.name!r} must be 1-128 letters, digits, '.', '_', '-'")

    @classmethod
    def parse(cls, uri: str) -> SpiffeId:
        """Parse an allelemesh SPIFFE ID; raises :class:`InvalidArgumentError` (a ValueError)."""
        if not uri.startswith(SCHEME):
            raise InvalidArgumentError("identity", f"{uri!r} is not a spiffe:// URI")
        parts = uri[len(SCHEME) :].split("/")
        if len(parts) != 5 or parts[1] != "country":
            raise InvalidArgumentError(
                "identity", f"{uri!r} is not spiffe://<trust-domain>/country/<CC>/<role>/<name>"
            )
        spiffe_id = cls(parts[0], parts[2], parts[3], parts[4])
        try:
            spiffe_id.validate()
        except ConfigError as exc:
            raise InvalidArgumentError("identity", f"{uri!r}: {exc.message}") from None
        return spiffe_id


def identity_pattern_matches(pattern: str, spiffe_id: SpiffeId | str) -> bool:
    """Whether ``spiffe_id`` matches ``pattern``, segment by segment (``*`` within one segment).

    An exact ID is a pattern that matches only itself. Matching is case-sensitive, like
    SPIFFE path comparison.
    """
    value = str(spiffe_id)
    if not (pattern.startswith(SCHEME) and value.startswith(SCHEME)):
        return False
    wanted = pattern[len(SCHEME) :].split("/")
    have = value[len(SCHEME) :].split("/")
    return len(wanted) == len(have) and all(
        fnmatch.fnmatchcase(seg, pat) for pat, seg in zip(wanted, have, strict=True)
    )


def spiffe_ids_of_certificate(cert: x509.Certificate) -> list[str]:
    """All ``spiffe://`` URI SANs of a certificate (an X509-SVID has exactly one)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        u for u in san.get_values_for_type(x509.UniformResourceIdentifier) if u.startswith(SCHEME)
    ]


def spiffe_id_of_certificate(cert: x509.Certificate) -> SpiffeId | None:
    """The certificate's SPIFFE ID, or None unless it has exactly one valid one."""
    uris = spiffe_ids_of_certificate(cert)
    if len(uris) != 1:
        return None
    try:
        return SpiffeId.parse(uris[0])
    except InvalidArgumentError:
        return None


@functools.lru_cache(maxsize=1024)
def _spiffe_id_of_pem(pem: bytes) -> SpiffeId | None:
    # Cached: the same few peers call thousands of times; parsing costs ~50 µs.
    try:
        return spiffe_id_of_certificate(x509.load_pem_x509_certificate(pem))
    except ValueError:
        return None


def spiffe_id_of_pem(pem: bytes) -> SpiffeId | None:
    """The SPIFFE ID of the first certificate in ``pem`` (None if absent or malformed)."""
    return _spiffe_id_of_pem(pem)


class LeafVerifier(Protocol):
    """Decides who a TLS-verified leaf is (:class:`mesh.security.trust.TrustStore`)."""

    def identity_of(self, leaf_pem: bytes, chain_pem: bytes) -> SpiffeId | None:
        """The leaf's identity, or None when it may not be anyone."""


#: The verifier of the server answering the current call (set by ``mesh.server.serving``'s guard).
active_verifier: ContextVar[LeafVerifier | None] = ContextVar(
    "allelemesh_leaf_verifier", default=None
)
_default_verifier: list[LeafVerifier] = []


def set_default_verifier(verifier: LeafVerifier) -> None:
    """The verifier used outside a guarded call: the last server credentials made."""
    _default_verifier[:] = [verifier]


def peer_identity(context: grpc.aio.ServicerContext | grpc.ServicerContext) -> SpiffeId | None:
    """The verified SPIFFE ID of the calling peer, or None (plaintext, or no usable identity).

    gRPC puts the verified client leaf in the auth context as ``x509_pem_cert`` and the
    chain the peer sent as ``x509_pem_cert_chain``. The server's trust store then decides
    (exactly one SPIFFE SAN, not revoked, issued by a CA of the identity's own country);
    without a trust store nobody vouches for the leaf, so it has no identity.
    """
    auth = context.auth_context()
    pems = auth.get("x509_pem_cert") or []
    if len(pems) != 1:
        return None
    verifier = active_verifier.get() or next(iter(_default_verifier), None)
    if verifier is None:
        return None
    chain = b"".join(bytes(p) for p in auth.get("x509_pem_cert_chain") or [])
    return verifier.identity_of(bytes(pems[0]), chain)


def client_identity_of(tls: TlsConfig) -> SpiffeId:
    """Our own SPIFFE ID, read from ``[tls].cert``; raises :class:`ConfigError` if it has none."""
    try:
        pem = tls.cert.read_bytes()
    except OSError as exc:
        raise ConfigError(f"[tls].cert: cannot read {tls.cert}: {exc.strerror}") from None
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ConfigError(f"[tls].cert: {tls.cert} is not a PEM certificate") from None
    spiffe_id = spiffe_id_of_certificate(cert)
    if spiffe_id is None:
        raise ConfigError(
            f"[tls].cert: {tls.cert} has no single allelemesh SPIFFE URI SAN "
            f"(found {spiffe_ids_of_certificate(cert) or 'none'})"
        )
    return spiffe_id
