"""A small federation PKI: a root CA, one intermediate CA per country, and leaf certificates.

Layout of a PKI directory (``allelemesh pki ... --out DIR``)::

    pki.toml                 trust_domain = "allelemesh.example", tier = "production"
    root-ca.crt / .key       the federation root (the trust bundle every process loads)
    no-ca.crt / .key         Norway's intermediate CA, signed by the root
    no-oslo-1.crt / .key     a leaf: the .crt holds leaf + country CA, so servers send the chain

Every leaf is EC P-256 and carries exactly one SPIFFE URI SAN
(``spiffe://<trust-domain>/country/<CC>/<role>/<name>``) plus DNS/IP SANs for the host
names clients dial. Nodes and gateways get server and client EKUs (they serve and
federate); operators get client only. Keys are created with mode 0600 from the first
byte (``O_CREAT|O_EXCL``) and swapped in with ``os.replace`` so a process watching the
files for rotation never reads a half-written key.

Constrained country CAs
    A country CA may vouch only for its own country. RFC 5280 name constraints cannot
    say "URIs under ``spiffe://<td>/country/NO/``": a URI constraint matches the *host*
    only (OpenSSL's and BoringSSL's ``nc_uri``; SPIFFE X509-SVID section 4.2 uses it for
    the trust domain), and a path in it would make every leaf fail. So each country CA
    carries a critical ``NameConstraints`` with two permitted subtrees the TLS stack does
    enforce: URI ``<td>`` (only identities of our trust domain) and directoryName
    ``C=<CC>, O=<td>`` (leaf subjects start with the same ``C``/``O``). The directoryName
    subtree's ``C`` is also where :mod:`mesh.security.trust` reads the CA's country to check,
    independently of any constraint enforcement, that a leaf's SPIFFE country equals it.

Tiers
    One PKI directory is one tier (``pki init --tier staging``; default ``production``):
    its root, country CAs and leaves carry the tier as the subject's ``OU``, and each
    country CA's directoryName constraint includes it (``C=<CC>, O=<td>, OU=<tier>``),
    so a country CA cannot issue for another tier (see :mod:`mesh.security.tiers`). Give every
    tier its own trust domain too (``staging.allelemesh.example``).

A CA is never overwritten, not even with ``--force`` (that would orphan every
certificate it issued, or turn a CA into a leaf); ``--force`` replaces leaves only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.config.tiers import PRODUCTION, validate_tier
from mesh.errors import ConfigError
from mesh.security.files import write_atomically
from mesh.security.identity import SpiffeId, validate_trust_domain

PKI_FILE = "pki.toml"
ROOT_NAME = "root-ca"
DEFAULT_SANS = ("localhost", "127.0.0.1")
ROOT_DAYS = 3650
COUNTRY_DAYS = 1825
LEAF_DAYS = 90
#: Back-date notBefore a little so peers with slightly slow clocks accept a fresh cert.
CLOCK_SKEW = dt.timedelta(minutes=5)

_CC = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Issued:
    """The files written for one entity."""

    cert: Path
    key: Path


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def country_code(cc: str) -> str:
    """Upper-case and validate an ISO 3166-1 alpha-2 code."""
    code = cc.upper()
    if not _CC.match(code):
        raise ConfigError(f"pki: country {cc!r} must be an ISO 3166-1 alpha-2 code such as NO")
    return code


def write_trust_domain(out: Path, trust_domain: str, tier: str = PRODUCTION) -> None:
    """Record trust domain and tier in ``DIR/pki.toml`` so later commands need not repeat them."""
    validate_trust_domain(trust_domain)
    validate_tier(tier, "pki: --tier")
    (out / PKI_FILE).write_text(
        f'trust_domain = "{trust_domain}"\ntier = "{tier}"\n', encoding="utf-8"
    )


def read_tier(out: Path) -> str:
    """The tier recorded by ``pki init`` (a PKI made before tiers: ``production``)."""
    read_trust_domain(out)  # the file exists and is valid
    data = tomllib.loads((out / PKI_FILE).read_text(encoding="utf-8"))
    value = data.get("tier", PRODUCTION)
    if not isinstance(value, str):
        raise ConfigError(f"pki: {out / PKI_FILE}: tier must be a string")
    return validate_tier(value, f"pki: {out / PKI_FILE}: tier")


def read_trust_domain(out: Path) -> str:
    """The trust domain recorded by ``pki init`` in ``DIR/pki.toml``."""
    path = out / PKI_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"pki: {path} not found: run `allelemesh pki init --out {out}`") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"pki: {path}: not valid TOML: {exc}") from None
    value = data.get("trust_domain")
    if not isinstance(value, str):
        raise ConfigError(f"pki: {path}: trust_domain is required")
    validate_trust_domain(value)
    return value


def _write_atomic(path: Path, data: bytes, mode: int, *, force: bool) -> None:
    """Write ``data`` to ``path`` with ``mode`` from creation, replacing it only if ``force``."""
    if path.exists() and not force:
        raise ConfigError(f"pki: {path} already exists (pass --force to replace it)")
    write_atomically(path, data, mode)


def _is_ca(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (OSError, ValueError, IndexError, x509.ExtensionNotFound):
        return False


def _check_free(issued: Issued, *, force: bool, ca: bool = False) -> None:
    """Refuse to overwrite an entity's files unless ``force`` (checked before any key is made).

    A CA is refused even with ``force``: replacing it orphans everything it issued, and a
    leaf written over it would turn the CA's name into a leaf.
    """
    if issued.cert.exists() and (ca or _is_ca(issued.cert)):
        raise ConfigError(
            f"pki: {issued.cert} is a CA certificate; allelemesh pki never overwrites a CA"
            + (" (--force replaces leaves only)" if force else "")
            + ". Choose another name, or move the CA's files away first if you really mean"
            " to replace it (every certificate it issued then stops verifying)"
        )
    for path in (issued.cert, issued.key):
        if path.exists() and not force:
            raise ConfigError(f"pki: {path} already exists (pass --force to replace it)")


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_certificate(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0]
    except FileNotFoundError:
        raise ConfigError(f"pki: {path} not found") from None
    except ValueError as exc:
        raise ConfigError(f"pki: {path}: not a PEM certificate: {exc}") from None


def load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA's certificate and EC private key."""
    cert = load_certificate(cert_path)
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"pki: {key_path} not found") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"pki: {key_path}: expected an EC private key")
    return cert, key


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    not_before: dt.datetime,
    days: int,
) -> x509.CertificateBuilder:
    if days <= 0:
        raise ConfigError(f"pki: --days must be positive, got {days}")
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CLOCK_SKEW + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_extensions(builder: x509.CertificateBuilder, path_length: int) -> x509.CertificateBuilder:
    return builder.add_extension(
        x509.BasicConstraints(ca=True, path_length=path_length), critical=True
    ).add_extension(
        x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )


def _name(
    common_name: str, trust_domain: str, country: str | None = None, tier: str | None = None
) -> x509.Name:
    prefix = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)] if country else []
    unit = [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, tier)] if tier else []
    return x509.Name(
        [
            *prefix,
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, trust_domain),
            *unit,
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def country_name_constraints(
    cc: str, trust_domain: str, tier: str | None = None
) -> x509.NameConstraints:
    """What a country CA may issue: URIs of our trust domain, subjects ``C, O=<td>, OU=<tier>``."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, cc),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, trust_domain),
    ]
    if tier:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, tier))
    subtree = x509.Name(attributes)
    return x509.NameConstraints(
        permitted_subtrees=[
            x509.UniformResourceIdentifier(trust_domain),
            x509.DirectoryName(subtree),
        ],
        excluded_subtrees=None,
    )


def init_root(
    out: Path,
    trust_domain: str,
    *,
    days: int = ROOT_DAYS,
    force: bool = False,
    not_before: dt.datetime | None = None,
    tier: str = PRODUCTION,
) -> Issued:
    """Create ``DIR``, record the trust domain and tier, and make the federation root CA."""
    validate_trust_domain(trust_domain)
    validate_tier(tier, "pki: --tier")
    out.mkdir(parents=True, exist_ok=True)
    issued = Issued(out / f"{ROOT_NAME}.crt", out / f"{ROOT_NAME}.key")
    _check_free(issued, force=force, ca=True)
    key = _new_key()
    name = _name(f"allelemesh federation root CA ({trust_domain})", trust_domain, tier=tier)
    start = (not_before or _now()) - CLOCK_SKEW
    # path_length=1: the root signs country CAs, which sign only leaves.
    builder = _ca_extensions(_builder(name, name, key.public_key(), start, days), path_length=1)
    cert = builder.sign(key, hashes.SHA256())
    write_trust_domain(out, trust_domain, tier)
    _write_atomic(issued.key, _key_pem(key), 0o600, force=force)
    _write_atomic(issued.cert, _cert_pem(cert), 0o644, force=force)
    return issued


def issue_country_ca(
    out: Path,
    cc: str,
    *,
    days: int = COUNTRY_DAYS,
    force: bool = False,
    not_before: dt.datetime | None = None,
) -> Issued:
    """Make a country's intermediate CA, signed by the root in ``DIR``."""
    code = country_code(cc)
    trust_domain, tier = read_trust_domain(out), read_tier(out)
    root_cert, root_key = load_ca(out / f"{ROOT_NAME}.crt", out / f"{ROOT_NAME}.key")
    issued = Issued(out / f"{code.lower()}-ca.crt", out / f"{code.lower()}-ca.key")
    _check_free(issued, force=force, ca=True)
    key = _new_key()
    start = (not_before or _now()) - CLOCK_SKEW
    builder = _builder(
        _name(f"allelemesh {code} CA", trust_domain, code, tier),
        root_cert.subject,
        key.public_key(),
        start,
        days,
    )
    builder = (
        _ca_extensions(builder, path_length=0)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(country_name_constraints(code, trust_domain, tier), critical=True)
    )
    cert = builder.sign(root_key, hashes.SHA256())
    _write_atomic(issued.key, _key_pem(key), 0o600, force=force)
    _write_atomic(issued.cert, _cert_pem(cert), 0o644, force=force)
    return issued


def _san_entries(spiffe_id: SpiffeId, sans: tuple[str, ...]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = [x509.UniformResourceIdentifier(str(spiffe_id))]
    for san in sans:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(san)))
        except ValueError:
            if not re.fullmatch(r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", san):
                raise ConfigError(f"pki: --san {san!r} is neither a DNS name nor an IP") from None
            entries.append(x509.DNSName(san))
    return entries


def sign_leaf(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    san_entries: list[x509.GeneralName],
    *,
    server: bool,
    not_before: dt.datetime,
    days: int,
) -> x509.Certificate:
    """An end-entity certificate for ``public_key``, signed by ``ca_key`` (no checks)."""
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:  # nodes and gateways also serve
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        _builder(subject, ca_cert.subject, public_key, not_before, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        # SPIFFE X509-SVID: the SAN carries the identity, so it is the extension that matters.
        .add_extension(x509.SubjectAlternativeName(san_entries), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    return builder.sign(ca_key, hashes.SHA256())


def _reserved(name: str) -> bool:
    """CA file names: a leaf must never be written where a CA lives or will live."""
    return name == ROOT_NAME or bool(re.fullmatch(r"[A-Za-z]{2}-ca", name))


def issue_leaf(
    out: Path,
    cc: str,
    role: str,
    name: str,
    *,
    sans: tuple[str, ...] = DEFAULT_SANS,
    days: int = LEAF_DAYS,
    force: bool = False,
    not_before: dt.datetime | None = None,
) -> Issued:
    """Issue a leaf key and certificate (chain: leaf + country CA) for one process."""
    code = country_code(cc)
    spiffe_id = SpiffeId(read_trust_domain(out), code, role, name)
    spiffe_id.validate()
    issued = Issued(out / f"{name}.crt", out / f"{name}.key")
    if _reserved(name):
        raise ConfigError(
            f"pki: --name {name} is reserved for a CA's files; "
            "allelemesh pki never writes a leaf over a CA"
        )
    _check_free(issued, force=force)
    ca_path = out / f"{code.lower()}-ca.crt"
    if not ca_path.exists():
        raise ConfigError(
            f"pki: no {code} CA in {out}: run `allelemesh pki country --cc {code} --out {out}`"
        )
    ca_cert, ca_key = load_ca(ca_path, out / f"{code.lower()}-ca.key")
    key = _new_key()
    cert = sign_leaf(
        ca_cert,
        ca_key,
        key.public_key(),
        _name(name, spiffe_id.trust_domain, code, read_tier(out)),
        _san_entries(spiffe_id, sans),
        server=role != "operator",
        not_before=(not_before or _now()) - CLOCK_SKEW,
        days=days,
    )
    # Key first: a watcher that sees the new cert before the new key keeps the old pair
    # until both match (see mesh.security.tls), so either order is safe, but this is the usual one.
    _write_atomic(issued.key, _key_pem(key), 0o600, force=force)
    _write_atomic(issued.cert, _cert_pem(cert, ca_cert), 0o644, force=force)
    return issued
