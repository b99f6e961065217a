"""A throw-away federation PKI for tests, made with :mod:`mesh.pki`.

pki = TestPki.create(tmp_path)                 # root + NO, FI country CAs
node = pki.leaf("NO", "node", "no-oslo-1")     # Issued(cert, key)
tls = pki.tls(node)                            # TlsConfig trusting the root
old = pki.leaf("NO", "node", "no-old", expired=True)
rogue = pki.foreign().leaf("NO", "node", "no-oslo-1")  # same name, untrusted CA
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from mesh import pki
from mesh.config import TlsConfig
from mesh.identity import SpiffeId

TRUST_DOMAIN = "allelemesh.example"


@dataclass
class TestPki:
    """One PKI directory: a root, country CAs made on demand, and leaves."""

    __test__ = False  # not a pytest test class, despite the name

    out: Path
    trust_domain: str = TRUST_DOMAIN
    _countries: set[str] = field(default_factory=set)

    @classmethod
    def create(
        cls,
        out: Path,
        trust_domain: str = TRUST_DOMAIN,
        countries: tuple[str, ...] = ("NO", "FI"),
    ) -> TestPki:
        pki.init_root(out, trust_domain)
        made = cls(out, trust_domain)
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

    def foreign(self, name: str = "foreign") -> TestPki:
        """Another PKI with the same trust domain and countries: valid-looking, not trusted."""
        return TestPki.create(self.out / name, self.trust_domain)


def serial_of(cert_path: Path) -> int:
    """Serial number of the first certificate in a PEM file."""
    return x509.load_pem_x509_certificates(cert_path.read_bytes())[0].serial_number
