"""What a certificate may vouch for, right now: trust bundle, deny list and the country rule.

gRPC (BoringSSL) verifies a peer's chain, validity and X.509 name constraints at the
handshake. :class:`TrustStore` adds what the TLS stack cannot know, on every call:

* **one identity**: a leaf with no SPIFFE URI SAN, or more than one, has no identity;
* **the country rule**: the SPIFFE country of a leaf must equal the country of the CA
  that signed it. That CA is found among the peer's chain and our trust bundle (by
  issuer name, then by signature), must itself be in the bundle or signed by a bundle
  CA, and names its country in its name constraints (permitted ``directoryName``
  subtree ``C=<CC>``, see :mod:`mesh.security.pki`). This does not rely on the constraint being
  enforced: a FI-signed ``…/country/NO/…`` leaf is refused even if it passes the TLS
  stack, and a CA without a country vouches for nobody;
* **the tier rule** (:mod:`mesh.security.tiers`): a leaf of another tier than ours is refused
  (``TIER_MISMATCH``, both tiers named), and so is one whose CA is constrained to
  another tier: staging and production never exchange a query, even when a trust
  bundle lists both roots by mistake;
* **revocation**: a deny list (``[tls].deny_list``) of certificate serials and SPIFFE
  IDs, see :class:`DenyList`;
* **the current bundle**: the CA files and the deny list are re-read when their contents
  change (looked at no more often than every ``min_interval_s``, 0.25 s by default), so a
  revoked or no-longer-trusted certificate is refused within a second, also on
  connections that were opened before the change.

Deny list file format (UTF-8 text, one entry per line, ``#`` starts a comment)::

    # allelemesh deny list
    serial 5A16AC719E1B61728521DD84  # hex, as `openssl x509 -noout -serial` prints it
    spiffe spiffe://allelemesh.example/country/NO/gateway/evil

A ``serial`` entry refuses any leaf or CA certificate with that serial number (our
serials are random 159-bit numbers, so issuers do not collide); a ``spiffe`` entry
refuses every certificate carrying that ID. ``allelemesh pki revoke`` writes the file.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

from mesh.config import TlsConfig
from mesh.errors import ConfigError, InvalidArgumentError, MeshError
from mesh.security import identity, tiers
from mesh.security.files import write_atomically
from mesh.security.identity import SpiffeId, spiffe_ids_of_certificate

log = logging.getLogger(__name__)

SERIAL = "serial"
SPIFFE = "spiffe"
#: How often the CA and deny-list files are looked at (well within the 1 s promise).
RECHECK_S = 0.25
#: Verdicts kept per store (a mesh has a few hundred certificates at most).
_CACHE_SIZE = 4096
_HEX = re.compile(r"^(0x)?[0-9a-f]+$")


class IdentityRefusedError(MeshError):
    """A verified certificate that still may not be anyone (``UNAUTHENTICATED``)."""

    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "IDENTITY_REFUSED"


def parse_serial(text: str) -> int:
    """A serial number in hex (``5A:16…``, ``0x5a16…``); raises :class:`ConfigError`."""
    cleaned = text.strip().lower().replace(":", "")
    if not _HEX.match(cleaned):
        raise ConfigError(f"serial {text!r} is not a hexadecimal certificate serial number")
    return int(cleaned.removeprefix("0x"), 16)


def format_serial(serial: int) -> str:
    """The upper-case hex form the deny list and ``openssl x509 -serial`` use."""
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text


@dataclass(frozen=True)
class DenyList:
    """Revoked certificate serials and SPIFFE IDs."""

    serials: frozenset[int] = frozenset()
    spiffe_ids: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str, source: str) -> DenyList:
        """Read the line format (module docstring); errors name the file and line."""
        serials: set[int] = set()
        ids: set[str] = set()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            kind, _, value = line.partition(" ")
            value = value.strip()
            where = f"{source} line {number}"
            if not value or " " in value:
                raise ConfigError(f"{where}: expected `serial HEX` or `spiffe ID`, got {line!r}")
            if kind == SERIAL:
                try:
                    serials.add(parse_serial(value))
                except ConfigError as exc:
                    raise ConfigError(f"{where}: {exc.message}") from None
            elif kind == SPIFFE:
                try:
                    SpiffeId.parse(value)
                except InvalidArgumentError as exc:
                    raise ConfigError(f"{where}: {exc.message}") from None
                ids.add(value)
            else:
                raise ConfigError(f"{where}: unknown entry {kind!r} (use serial or spiffe)")
        return cls(frozenset(serials), frozenset(ids))

    @classmethod
    def load(cls, path: Path) -> DenyList:
        """Read a deny list file; raises :class:`ConfigError` naming the problem."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"[tls].deny_list: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"[tls].deny_list: {path} is not UTF-8 text") from None
        return cls.parse(text, str(path))


def append_to_deny_list(path: Path, kind: str, value: str, note: str = "") -> bool:
    """Add one entry (atomically: a watcher never reads half a file); False if present."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    current = DenyList.parse(existing, str(path))
    if (kind == SERIAL and parse_serial(value) in current.serials) or (
        kind == SPIFFE and value in current.spiffe_ids
    ):
        return False
    if not existing:
        existing = "# allelemesh deny list (see `allelemesh pki revoke --help`)\n"
    elif not existing.endswith("\n"):
        existing += "\n"
    comment = f"  # {note}" if note else ""
    write_atomically(path, f"{existing}{kind} {value}{comment}\n".encode(), 0o644)
    return True


def ca_country(cert: x509.Certificate) -> str | None:
    """The country a CA may vouch for: ``C=`` of its permitted ``directoryName`` subtree."""
    countries = {
        str(attribute.value)
        for name in tiers.permitted_directory_names(cert)
        for attribute in name.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    }
    return countries.pop() if len(countries) == 1 else None


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class _State:
    anchors: tuple[x509.Certificate, ...]
    deny: DenyList
    generation: int


def _load_anchors(paths: Sequence[Path]) -> tuple[x509.Certificate, ...]:
    anchors: list[x509.Certificate] = []
    for path in paths:
        try:
            anchors.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"[tls].ca: cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"[tls].ca: {path}: not PEM certificates: {exc}") from None
    return tuple(anchors)


class TrustStore:
    """The current trust of a process: bundle and deny list, re-read when they change."""

    def __init__(self, tls: TlsConfig, *, min_interval_s: float = RECHECK_S) -> None:
        self.tls = tls
        self._min_interval_s = min_interval_s
        self._files = (*tls.ca, *((tls.deny_list,) if tls.deny_list else ()))
        self._lock = threading.Lock()  # gRPC's handshake threads and the event loop share it
        self._digest = self._files_digest()
        self._state = self._load(0)  # a bad bundle or deny list stops the process at start
        #: Our own tier, as our certificate says (a certified tier cannot change by rotation).
        self.tier = tiers.own_tier(tls)
        self._checked = time.monotonic()
        self._verdicts: dict[tuple[bytes, bytes], SpiffeId | IdentityRefusedError] = {}

    @property
    def generation(self) -> int:
        """Bumped on every change of the bundle or the deny list."""
        return self._state.generation

    @property
    def deny(self) -> DenyList:
        """The deny list in force."""
        return self._state.deny

    def _files_digest(self) -> bytes:
        digest = hashlib.sha256()
        for path in self._files:
            try:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            except OSError:
                digest.update(b"missing")
        return digest.digest()

    def _load(self, generation: int) -> _State:
        deny = DenyList.load(self.tls.deny_list) if self.tls.deny_list else DenyList()
        return _State(_load_anchors(self.tls.ca), deny, generation)

    def refresh(self, *, now: bool = False) -> bool:
        """Re-read the files if they changed (at most once per interval unless ``now``).

        Returns True if it reloaded.
        """
        started = time.monotonic()
        if not now and started - self._checked < self._min_interval_s:
            return False
        with self._lock:
            self._checked = started
            digest = self._files_digest()
            if digest == self._digest:
                return False
            try:
                state = self._load(self._state.generation + 1)
            except ConfigError as exc:
                # Half-written or broken: keep what is in force and look again next time.
                log.warning("trust bundle or deny list not reloaded: %s", exc.message)
                return False
            self._digest, self._state = digest, state
            self._verdicts = {}
        log.info(
            "trust reloaded: %d CA certificates, %d revoked serials, %d revoked identities",
            len(state.anchors),
            len(state.deny.serials),
            len(state.deny.spiffe_ids),
        )
        return True

    def check_pem(self, leaf_pem: bytes, chain_pem: bytes = b"") -> SpiffeId:
        """The identity of a (TLS-verified) leaf, or :class:`IdentityRefusedError` saying why."""
        self.refresh()
        key = (leaf_pem, chain_pem)
        verdict = self._verdicts.get(key)
        if verdict is None:
            try:
                leaf = x509.load_pem_x509_certificate(leaf_pem)
                chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem else []
            except ValueError:
                verdict = IdentityRefusedError(
                    "peer certificate is not readable", reason="CERTIFICATE_MALFORMED"
                )
            else:
                verdict = self._verdict(leaf, chain)
            if len(self._verdicts) >= _CACHE_SIZE:
                self._verdicts = {}
            self._verdicts[key] = verdict
        if isinstance(verdict, IdentityRefusedError):
            raise verdict.with_traceback(None)
        return verdict

    def check(self, leaf: x509.Certificate, chain: Iterable[x509.Certificate] = ()) -> SpiffeId:
        """Like :meth:`check_pem` for parsed certificates (not cached)."""
        self.refresh()
        verdict = self._verdict(leaf, list(chain))
        if isinstance(verdict, IdentityRefusedError):
            raise verdict
        return verdict

    def identity_of(self, leaf_pem: bytes, chain_pem: bytes) -> SpiffeId | None:
        """:meth:`check_pem`, None for a refused certificate (``mesh.security.identity`` hook)."""
        try:
            return self.check_pem(leaf_pem, chain_pem)
        except IdentityRefusedError:
            return None

    def _verdict(
        self, leaf: x509.Certificate, chain: Sequence[x509.Certificate]
    ) -> SpiffeId | IdentityRefusedError:
        state = self._state
        uris = spiffe_ids_of_certificate(leaf)
        if len(uris) != 1:
            return IdentityRefusedError(
                f"certificate carries {len(uris)} SPIFFE URI SANs ({', '.join(uris) or 'none'});"
                " an identity needs exactly one",
                reason="IDENTITY_AMBIGUOUS" if uris else "IDENTITY_MISSING",
            )
        try:
            spiffe_id = SpiffeId.parse(uris[0])
        except InvalidArgumentError as exc:
            return IdentityRefusedError(exc.message, reason="IDENTITY_MALFORMED")
        meta = {"identity": str(spiffe_id), "serial": format_serial(leaf.serial_number)}
        if leaf.serial_number in state.deny.serials:
            return IdentityRefusedError(
                f"certificate serial {meta['serial']} of {spiffe_id} is revoked",
                reason="CERTIFICATE_REVOKED",
                metadata=meta,
            )
        if str(spiffe_id) in state.deny.spiffe_ids:
            return IdentityRefusedError(
                f"identity {spiffe_id} is revoked", reason="IDENTITY_REVOKED", metadata=meta
            )
        issuer = self._trusted_issuer(leaf, chain, state)
        if isinstance(issuer, IdentityRefusedError):
            issuer.metadata.update(meta)
            return issuer
        country = ca_country(issuer)
        if country != spiffe_id.country:
            issuer_name = issuer.subject.rfc4514_string()
            meta["issuer"] = issuer_name
            what = f"the {country} CA" if country else "a CA without a country name constraint"
            return IdentityRefusedError(
                f"{spiffe_id} is issued by {what} ({issuer_name}); "
                f"only the {spiffe_id.country} CA may vouch for {spiffe_id.country} identities",
                reason="ISSUER_COUNTRY_MISMATCH",
                metadata=meta,
            )
        return self._tier_verdict(spiffe_id, leaf, issuer, meta)

    def _tier_verdict(
        self,
        spiffe_id: SpiffeId,
        leaf: x509.Certificate,
        issuer: x509.Certificate,
        meta: dict[str, str],
    ) -> SpiffeId | IdentityRefusedError:
        leaf_tier = tiers.tier_of_certificate(leaf)
        issuer_tier = tiers.ca_tier(issuer)
        meta.update(peer_tier=leaf_tier, tier=self.tier)
        if issuer_tier is not None and issuer_tier != leaf_tier:
            return IdentityRefusedError(
                f"{spiffe_id} claims tier {leaf_tier!r} but its CA issues for tier "
                f"{issuer_tier!r} only",
                reason="TIER_MISMATCH",
                metadata=meta,
            )
        if leaf_tier != self.tier:
            return IdentityRefusedError(
                tiers.mismatch_message(str(spiffe_id), leaf_tier, self.tier),
                reason="TIER_MISMATCH",
                metadata=meta,
            )
        return spiffe_id

    @staticmethod
    def _trusted_issuer(
        leaf: x509.Certificate, chain: Sequence[x509.Certificate], state: _State
    ) -> x509.Certificate | IdentityRefusedError:
        """The CA that signed ``leaf``, if it is in the bundle or signed by a bundle CA."""
        for candidate in (*chain, *state.anchors):
            if candidate.subject != leaf.issuer or not _signed_by(leaf, candidate):
                continue
            if candidate.serial_number in state.deny.serials:
                return IdentityRefusedError(
                    f"issuing CA {candidate.subject.rfc4514_string()} is revoked",
                    reason="CERTIFICATE_REVOKED",
                )
            if candidate in state.anchors or any(
                a.subject == candidate.issuer and _signed_by(candidate, a) for a in state.anchors
            ):
                return candidate
        return IdentityRefusedError(
            f"certificate issuer {leaf.issuer.rfc4514_string()} is not (or no longer) trusted",
            reason="ISSUER_UNTRUSTED",
        )


_stores: dict[TlsConfig, TrustStore] = {}
_stores_lock = threading.Lock()


def store_for(tls: TlsConfig) -> TrustStore:
    """The one :class:`TrustStore` of a ``[tls]`` configuration in this process."""
    with _stores_lock:
        store = _stores.get(tls)
        if store is None:
            store = _stores[tls] = TrustStore(tls)
        return store


def install_default(store: TrustStore) -> None:
    """Make ``store`` what :func:`mesh.security.identity.peer_identity` checks by default."""
    identity.set_default_verifier(store)
