"""Mutual TLS for every mesh port, with certificate rotation and peer identity checks.

Transport rules
    Every node and gateway port demands a client certificate that chains to the trust
    bundle (``[tls].ca``, a list of CA files). gRPC's BoringSSL negotiates TLS 1.3 and
    accepts TLS 1.2 as the floor; TLS 1.0/1.1 and SSLv3 are refused at the handshake.
    grpcio's Python API cannot set the version range (no ``min_tls_version`` on
    ``ssl_server_credentials``), so this rests on gRPC core's default range
    (TLS 1.2..1.3), which ``tests/mesh/security/test_versions.py`` pins down.

Rotation
    :func:`server_credentials` returns ``grpc.dynamic_ssl_server_credentials``: on every
    new handshake gRPC asks :class:`ServerCertificateSource`, which hashes the cert, key
    and CA files (tens of microseconds) and reloads them only when one changed. A new
    cert/key pair is taken only once the key matches the certificate, so a rotation that
    lands one file before the other never breaks the server. Open connections keep their
    session; new ones get the new certificate. No restart.

    gRPC client credentials are fixed when a channel is created, so channel owners keep a
    :class:`CredentialWatcher` beside each channel and recreate the channel when
    ``watcher.changed()`` says so (rate-limited, cheap enough to call per request).

Per-call checks (server side)
    The handshake cannot consult the deny list or the country rule, so every call on a
    mesh port passes :class:`mesh.server.guard.PeerGuard` first (see :mod:`mesh.security.trust`).

Peer identity (client side)
    gRPC Python never shows a client the server's certificate, and
    ``ssl_target_name_override`` checks DNS names only. So before a channel to a peer is
    created (and again whenever it is recreated), the owner calls
    ``await verifier.verify(address, peer.identity)`` on a :class:`PeerIdentityVerifier`:
    it performs one TLS handshake with Python's ``ssl`` using the same client certificate
    and trust bundle, reads the server's leaf and verified chain, has the
    :class:`~mesh.security.trust.TrustStore` accept it (one SPIFFE ID, issued by a CA of that ID's
    country, not revoked) and compares the ID with the registry's ``identity`` (an exact
    ID or a ``*`` pattern). A refusal raises :class:`~mesh.errors.PermissionDeniedError`
    (reason ``PEER_IDENTITY_MISMATCH``, or the store's: ``ISSUER_COUNTRY_MISMATCH``,
    ``IDENTITY_AMBIGUOUS``, ``CERTIFICATE_REVOKED``, ...), which the fan-out records as
    that peer's outcome. Successes are cached per (address, expected identity) for
    ``ttl_s`` (bounded by the leaf's expiry) and dropped when the trust bundle or deny
    list changes, so the cost is one extra handshake per peer per channel (re)creation or
    trust change, never per request::

        verifier = PeerIdentityVerifier(config.tls)
        await verifier.verify(peer.addresses[0], expected_peer_identity(peer, trust_domain))
        channel = open_aio_channel(peer.addresses[0], config.tls)

    The check and the gRPC connection are separate TCP connections; the gRPC handshake
    still verifies the chain and host name, and a re-verification happens on every channel
    recreation, so an attacker would need a trusted certificate valid for that host.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mesh.config import PeerConfig, TlsConfig
from mesh.errors import ConfigError, PermissionDeniedError, UnavailableError
from mesh.security.certificates import EXPIRY
from mesh.security.identity import SCHEME, SpiffeId, identity_pattern_matches
from mesh.security.trust import IdentityRefusedError, TrustStore, install_default, store_for

log = logging.getLogger(__name__)

#: What gRPC core (BoringSSL) accepts today; Python cannot change it (see module docstring).
ACCEPTED_TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")


@dataclass(frozen=True)
class TlsMaterial:
    """PEM bytes read from a :class:`TlsConfig`, checked to belong together."""

    key: bytes
    chain: bytes
    roots: bytes
    leaf: x509.Certificate


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"[tls].{what}: cannot read {path}: {exc.strerror}") from None


def load_material(tls: TlsConfig) -> TlsMaterial:
    """Read key, chain and trust bundle; raise :class:`ConfigError` if the key is not the cert's."""
    key_pem, chain = _read(tls.key, "key"), _read(tls.cert, "cert")
    roots = b"".join(_read(p, "ca") for p in tls.ca)
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise ConfigError(f"[tls]: cannot parse {tls.cert} or {tls.key}: {exc}") from None
    if key.public_key() != leaf.public_key():
        raise ConfigError(f"[tls].key: {tls.key} is not the key of certificate {tls.cert}")
    EXPIRY.observe("own", str(tls.cert), leaf)  # warns from 30 days before the end
    return TlsMaterial(key_pem, chain, roots, leaf)


def _signature(tls: TlsConfig) -> bytes:
    """A digest of the cert, key and CA files' contents.

    Contents, not mtimes: an in-place rewrite within one filesystem timestamp tick, with
    the same size (EC keys always are), would fool a stat check. Reading three ~1 kB files
    costs tens of microseconds, next to ~1 ms for the handshake that asks.
    """
    digest = hashlib.sha256()
    for path in (tls.cert, tls.key, *tls.ca):
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"missing")  # mid-replace or removed: a change like any other
    return digest.digest()


class CredentialWatcher:
    """Tells a channel owner when ``[tls]`` files changed, so it can recreate its channel."""

    def __init__(self, tls: TlsConfig, *, min_interval_s: float = 1.0) -> None:
        self.tls = tls
        self._min_interval_s = min_interval_s
        self._signature = _signature(tls)
        self._checked = time.monotonic()

    def changed(self) -> bool:
        """True once per change of the cert, key or CA files (looks at most once per interval)."""
        now = time.monotonic()
        if now - self._checked < self._min_interval_s:
            return False
        self._checked = now
        signature = _signature(self.tls)
        if signature == self._signature:
            return False
        self._signature = signature
        return True


class ServerCertificateSource:
    """The ``certificate_configuration_fetcher`` behind :func:`server_credentials`."""

    def __init__(self, tls: TlsConfig) -> None:
        self.tls = tls
        self._lock = threading.Lock()  # gRPC calls the fetcher from its own threads
        self._signature = _signature(tls)
        self.material = load_material(tls)  # a bad config fails at start, not at handshake
        # What peer_identity checks callers against (bundle, deny list, country rule).
        self.trust = store_for(tls)
        install_default(self.trust)

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        """The certificate configuration for the current material."""
        return grpc.ssl_server_certificate_configuration(
            [(self.material.key, self.material.chain)], root_certificates=self.material.roots
        )

    def __call__(self) -> grpc.ServerCertificateConfiguration | None:
        """New configuration if the files changed (and are consistent), else None (keep)."""
        with self._lock:
            signature = _signature(self.tls)
            if signature == self._signature:
                return None
            try:
                material = load_material(self.tls)
            except ConfigError as exc:
                # Mid-rotation (cert before key) or a broken file: keep serving the old pair
                # and look again at the next handshake.
                log.warning("not rotating TLS credentials yet: %s", exc.message)
                return None
            self._signature, self.material = signature, material
            # The handshake trusts the new bundle now: so must the per-call checks.
            self.trust.refresh(now=True)
            log.info(
                "rotated TLS credentials: %s serial %x", self.tls.cert, material.leaf.serial_number
            )
            return self.configuration()


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """Server credentials that demand a client certificate and follow file rotation."""
    source = ServerCertificateSource(tls)
    return grpc.dynamic_ssl_server_credentials(
        source.configuration(), source, require_client_authentication=True
    )


def channel_credentials(tls: TlsConfig) -> grpc.ChannelCredentials:
    """Client credentials presenting this process's certificate (fixed for the channel)."""
    material = load_material(tls)
    return grpc.ssl_channel_credentials(
        root_certificates=material.roots,
        private_key=material.key,
        certificate_chain=material.chain,
    )


def expected_peer_identity(peer: PeerConfig, trust_domain: str) -> str:
    """The registry's ``identity``, or by default any node of the peer's country."""
    return peer.identity or f"{SCHEME}{trust_domain}/country/{peer.country}/node/*"


def split_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[v6]:PORT`` into host and port."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"peer address {address!r} must be HOST:PORT")
    return host.strip("[]"), int(port)


def client_ssl_context(material: TlsMaterial, tls: TlsConfig) -> ssl.SSLContext:
    """A Python ``ssl`` client context equivalent to :func:`channel_credentials`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cadata=material.roots.decode("ascii"))
    context.load_cert_chain(tls.cert, tls.key)
    context.set_alpn_protocols(["h2"])  # gRPC servers drop connections without h2
    return context


def verified_chain(ssl_object: ssl.SSLObject) -> list[x509.Certificate]:
    """The chain OpenSSL verified, leaf first (public in Python 3.13, private before)."""
    getter = getattr(ssl_object, "get_verified_chain", None)
    if getter is None:
        getter = ssl_object._sslobj.get_verified_chain  # type: ignore[attr-defined]
    certs = []
    for item in getter() or ():
        der = item if isinstance(item, bytes) else item.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]
        certs.append(x509.load_der_x509_certificate(der))
    return certs


async def fetch_peer_certificate(
    address: str, context: ssl.SSLContext, timeout: float
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """Handshake with ``address``; the server's verified leaf and the verified chain above it."""
    host, port = split_address(address)
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout
        )
    except ssl.SSLCertVerificationError as exc:
        raise PermissionDeniedError(
            f"peer {address}: certificate not accepted: {exc.verify_message}",
            reason="PEER_CERTIFICATE_UNTRUSTED",
            metadata={"address": address},
        ) from None
    except (OSError, TimeoutError) as exc:
        raise UnavailableError(
            f"peer {address}: TLS handshake failed: {exc or type(exc).__name__}",
            reason="PEER_UNREACHABLE",
            metadata={"address": address},
        ) from None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True)
        chain = verified_chain(ssl_object)[1:]
    finally:
        # Abort rather than close: a gRPC server waits for HTTP/2 and never answers a TLS
        # close_notify, so a graceful close would hang for asyncio's 30 s shutdown timeout.
        writer.transport.abort()
    cert = x509.load_der_x509_certificate(der)
    EXPIRY.observe("peer", address, cert)
    return cert, chain


def check_identity(
    address: str,
    cert: x509.Certificate,
    expected: str,
    store: TrustStore,
    chain: list[x509.Certificate] | None = None,
) -> SpiffeId:
    """The cert's SPIFFE ID if the trust store accepts it and it matches ``expected``.

    A certificate the store refuses (several SPIFFE IDs, issued by another country's CA,
    revoked, no longer trusted) is ``PERMISSION_DENIED`` with the store's reason; one
    naming someone else is PEER_IDENTITY_MISMATCH.
    """
    try:
        presented = store.check(cert, chain or ())
    except IdentityRefusedError as refusal:
        raise PermissionDeniedError(
            f"peer {address}: certificate refused: {refusal.message}",
            reason=refusal.reason,
            metadata={"address": address, "expected": expected, **refusal.metadata},
        ) from None
    if identity_pattern_matches(expected, presented):
        return presented
    shown = str(presented)
    raise PermissionDeniedError(
        f"peer {address} presented identity {shown}, expected {expected}",
        reason="PEER_IDENTITY_MISMATCH",
        metadata={"address": address, "expected": expected, "presented": shown},
    )


async def verify_peer_identity(
    address: str, tls: TlsConfig, expected: str, timeout: float = 5.0
) -> SpiffeId:
    """One uncached check that the server at ``address`` is ``expected``; returns its ID."""
    if not expected.startswith(SCHEME):
        raise ConfigError(f"peer {address}: identity {expected!r} must be a spiffe:// ID")
    context = client_ssl_context(load_material(tls), tls)
    cert, chain = await fetch_peer_certificate(address, context, timeout)
    return check_identity(address, cert, expected, store_for(tls), chain)


class PeerIdentityVerifier:
    """Cached :func:`verify_peer_identity`: call it whenever a peer channel is (re)created."""

    def __init__(
        self,
        tls: TlsConfig,
        *,
        ttl_s: float = 300.0,
        failure_ttl_s: float = 10.0,
        recheck_files_s: float = 0.25,
    ) -> None:
        self.tls = tls
        self.ttl_s, self.failure_ttl_s = ttl_s, failure_ttl_s
        self._watcher = CredentialWatcher(tls, min_interval_s=recheck_files_s)
        self._trust = store_for(tls)
        self._generation = self._trust.generation
        self._context: ssl.SSLContext | None = None
        # (address, expected) -> (monotonic expiry, verified ID or the refusal to repeat)
        self._cache: dict[tuple[str, str], tuple[float, SpiffeId | PermissionDeniedError]] = {}

    def _ssl_context(self) -> ssl.SSLContext:
        self._trust.refresh()
        if self._watcher.changed():  # our cert or the bundle rotated: start afresh
            self._context = None
            self._cache.clear()
        if self._trust.generation != self._generation:  # bundle or deny list changed
            self._generation = self._trust.generation
            self._cache.clear()
        if self._context is None:
            self._context = client_ssl_context(load_material(self.tls), self.tls)
        return self._context

    def forget(self, address: str | None = None) -> None:
        """Drop cached results (for one address, or all), e.g. after a peer failed."""
        for key in [k for k in self._cache if address is None or k[0] == address]:
            del self._cache[key]

    async def verify(self, address: str, expected: str, timeout: float = 5.0) -> SpiffeId:
        """Like :func:`verify_peer_identity`, answering from the cache when it can."""
        if not expected.startswith(SCHEME):
            raise ConfigError(f"peer {address}: identity {expected!r} must be a spiffe:// ID")
        context = self._ssl_context()
        key = (address, expected)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            if isinstance(cached[1], PermissionDeniedError):
                raise cached[1].with_traceback(None)  # don't grow one traceback forever
            return cached[1]
        now = time.monotonic()
        try:
            cert, chain = await fetch_peer_certificate(address, context, timeout)
            presented = check_identity(address, cert, expected, self._trust, chain)
        except PermissionDeniedError as refusal:
            # Remember refusals briefly so a misconfigured peer is not re-probed per query.
            self._cache[key] = (now + self.failure_ttl_s, refusal)
            raise
        lifetime = cert.not_valid_after_utc.timestamp() - time.time()
        self._cache[key] = (now + max(0.0, min(self.ttl_s, lifetime)), presented)
        return presented
