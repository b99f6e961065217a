"""A throw-away federation PKI for tests, made with :mod:`mesh.security.pki`.

pki = TestPki.create(tmp_path)                 # root + NO, FI country CAs
node = pki.leaf("NO", "node", "no-oslo-1")     # Issued(cert, key)
tls = pki.tls(node)                            # TlsConfig trusting the root
old = pki.leaf("NO", "node", "no-old", expired=True)
rogue = pki.foreign().leaf("NO", "node", "no-oslo-1")  # same name, untrusted CA

Attack certificates (what a rogue or careless country CA could mint):

evil = pki.forged("FI", [pki.uri("NO", "gateway", "evil")], "evil")  # FI CA, NO identity
twice = pki.forged("NO", [pki.uri("NO", "node", "a"), pki.uri("NO", "gateway", "b")], "two")
legacy = pki.unconstrained_country("SE")   # a CA without name constraints (no country)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mesh.config import TlsConfig
from mesh.security import pki
from mesh.security.identity import SpiffeId

TRUST_DOMAIN = "allelemesh.example"


@dataclass
class TestPki:
    """One PKI directory: a root, country CAs made on demand, and leaves."""

    __test__ = False  # not a pytest test class, despite the name

    out: Path
    trust_domain: str = TRUST_DOMAIN
    tier: str = "production"
    _countries: set[str] = field(default_factory=set)

    @classmethod
    def create(
        cls,
        out: Path,
        trust_domain: str = TRUST_DOMAIN,
        countries: tuple[str, ...] = ("NO", "FI"),
        tier: str = "production",
    ) -> TestPki:
        pki.init_root(out, trust_domain, tier=tier)
        made = cls(out, trust_domain, tier)
        for cc in countries:
            made.country(cc)
        return made

    @property
    def root_cert(self) -> Path:
        return self.out / f"{pki.ROOT_NAME}.crt"

    def country(self, cc: str) -> pki.Issued:
        cc = cc.upper()
        if cc not in self._countries:
            pki.issue_country_ca(self.out, cc)
            self._countries.add(cc)
        return pki.Issued(self.out / f"{cc.lower()}-ca.crt", self.out / f"{cc.lower()}-ca.key")

    def leaf(
        self,
        cc: str,
        role: str,
        name: str,
        *,
        sans: tuple[str, ...] = pki.DEFAULT_SANS,
        days: int = 30,
        expired: bool = False,
        force: bool = False,
    ) -> pki.Issued:
        """Issue a leaf; ``expired`` makes one that ran out a month ago."""
        self.country(cc)
        not_before = None
        if expired:
            not_before = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
            days = 1
        return pki.issue_leaf(
            self.out, cc, role, name, sans=sans, days=days, force=force, not_before=not_before
        )

    def tls(self, issued: pki.Issued, *ca: Path) -> TlsConfig:
        """A ``[tls]`` for ``issued`` trusting this root (or the given CA files)."""
        return TlsConfig(ca=ca or (self.root_cert,), cert=issued.cert, key=issued.key)

    def spiffe_id(self, cc: str, role: str, name: str) -> SpiffeId:
        return SpiffeId(self.trust_domain, cc.upper(), role, name)

    def uri(self, cc: str, role: str, name: str, trust_domain: str | None = None) -> str:
        td = trust_domain or self.trust_domain
        return f"spiffe://{td}/country/{cc.upper()}/{role}/{name}"

    def forged(
        self,
        signer_cc: str,
        uris: Sequence[str],
        name: str,
        *,
        subject_cc: str | None = None,
        sans: tuple[str, ...] = pki.DEFAULT_SANS,
        signer: pki.Issued | None = None,
    ) -> pki.Issued:
        """A leaf with any URI SANs, signed by the ``signer_cc`` CA (or ``signer``).

        The subject's ``C`` is the signer's country unless ``subject_cc`` says otherwise
        (another country breaks the CA's directoryName constraint at the TLS layer).
        """
        issuer = signer or self.country(signer_cc)
        ca_cert, ca_key = pki.load_ca(issuer.cert, issuer.key)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, (subject_cc or signer_cc).upper()),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.trust_domain),
                # The tier (mesh.security.tiers): country CAs only issue for their own.
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, self.tier),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        entries: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
        for san in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                entries.append(x509.DNSName(san))
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        cert = pki.sign_leaf(
            ca_cert, ca_key, key.public_key(), subject, entries, server=True,
            not_before=start, days=30,
        )  # fmt: skip
        issued = pki.Issued(self.out / f"{name}.crt", self.out / f"{name}.key")
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        issued.key.chmod(0o600)
        issued.cert.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
            + ca_cert.public_bytes(serialization.Encoding.PEM)
        )
        return issued

    def unconstrained_country(self, cc: str) -> pki.Issued:
        """A country CA as ``allelemesh pki`` made them before name constraints: no country."""
        root_cert, root_key = pki.load_ca(self.root_cert, self.out / f"{pki.ROOT_NAME}.key")
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.trust_domain),
                x509.NameAttribute(NameOID.COMMON_NAME, f"legacy {cc} CA"),
            ]
        )
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(root_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
            )
            .sign(root_key, hashes.SHA256())
        )
        issued = pki.Issued(self.out / f"legacy-{cc.lower()}.crt", self.out / f"legacy-{cc}.key")
        issued.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        issued.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return issued

    def foreign(self, name: str = "foreign") -> TestPki:
        """Another PKI with the same trust domain and countries: valid-looking, not trusted."""
        return TestPki.create(self.out / name, self.trust_domain)


def serial_of(cert_path: Path) -> int:
    """Serial number of the first certificate in a PEM file."""
    return x509.load_pem_x509_certificates(cert_path.read_bytes())[0].serial_number
