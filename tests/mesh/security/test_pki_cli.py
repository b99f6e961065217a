"""``allelemesh pki``: real CLI runs, files and modes, certificate contents."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

REPO = Path(__file__).resolve().parents[3]


def pki_cli(*args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", "pki", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        umask=umask,
        check=False,
    )


def ok(*args: str, umask: int = 0o022) -> str:
    result = pki_cli(*args, umask=umask)
    assert result.returncode == 0, result.stderr
    return result.stdout


def load_all(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "pki"
    # umask 0: modes must come from the code, not from a friendly shell.
    ok("init", "--out", str(out), "--trust-domain", "allelemesh.example", umask=0)
    ok("country", "--out", str(out), "--cc", "no", umask=0)
    return out


def test_files_and_modes(out: Path) -> None:
    ok("issue", "--out", str(out), "--cc", "NO", "--role", "node", "--name", "no-oslo-1", umask=0)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "no-ca.crt",
        "no-ca.key",
        "no-oslo-1.crt",
        "no-oslo-1.key",
        "pki.toml",
        "root-ca.crt",
        "root-ca.key",
    ]
    for key in ("root-ca.key", "no-ca.key", "no-oslo-1.key"):
        assert (out / key).stat().st_mode & 0o777 == 0o600, key
    for cert in ("root-ca.crt", "no-ca.crt", "no-oslo-1.crt"):
        assert (out / cert).stat().st_mode & 0o777 == 0o644, cert
    expected = 'trust_domain = "allelemesh.example"\ntier = "production"\n'
    assert (out / "pki.toml").read_text() == expected


def test_node_leaf_contents(out: Path) -> None:
    ok("issue", "--out", str(out), "--cc", "NO", "--role", "node", "--name", "no-oslo-1")
    leaf, ca = load_all(out / "no-oslo-1.crt")
    assert ca == load_all(out / "no-ca.crt")[0]  # the chain rides along with the leaf
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://allelemesh.example/country/NO/node/no-oslo-1"
    ]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature


def test_chain_verifies_to_the_root(out: Path) -> None:
    # OpenSSL, like gRPC's BoringSSL, enforces the country CA's name constraints;
    # cryptography's verifier supports no URI or directoryName constraint, so it cannot.
    ok("issue", "--out", str(out), "--cc", "NO", "--role", "gateway", "--name", "no-gw")
    leaf, ca = load_all(out / "no-gw.crt")
    (out / "ca-only.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    command = ["openssl", "verify", "-CAfile", str(out / "root-ca.crt")]
    command += ["-untrusted", str(out / "ca-only.pem"), "-purpose", "sslserver"]
    result = subprocess.run(
        [*command, str(out / "no-gw.crt")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    assert uris == ["spiffe://allelemesh.example/country/NO/gateway/no-gw"]
    assert leaf.issuer == ca.subject


def test_operator_is_client_only(out: Path) -> None:
    ok("issue", "--out", str(out), "--cc", "NO", "--role", "operator", "--name", "no-ops-kari")
    leaf = load_all(out / "no-ops-kari.crt")[0]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_sans_and_days(out: Path) -> None:
    ok(
        "issue", "--out", str(out), "--cc", "NO", "--role", "node", "--name", "no-bergen-1",
        "--san", "node.no.example", "--san", "::1", "--days", "7",
    )  # fmt: skip
    leaf = load_all(out / "no-bergen-1.crt")[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node.no.example"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["::1"]
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert dt.timedelta(days=7) <= lifetime <= dt.timedelta(days=7, minutes=10)


def test_country_ca_is_a_path_length_zero_ca(out: Path) -> None:
    ca = load_all(out / "no-ca.crt")[0]
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert (constraints.ca, constraints.path_length) == (True, 0)
    assert ca.issuer == load_all(out / "root-ca.crt")[0].subject


def test_existing_files_need_force(out: Path) -> None:
    args = ("issue", "--out", str(out), "--cc", "NO", "--role", "node", "--name", "no-oslo-1")
    ok(*args)
    before = load_all(out / "no-oslo-1.crt")[0].serial_number
    result = pki_cli(*args)
    assert result.returncode == 2
    assert "already exists (pass --force" in result.stderr
    ok(*args, "--force")
    assert load_all(out / "no-oslo-1.crt")[0].serial_number != before
    assert (out / "no-oslo-1.key").stat().st_mode & 0o777 == 0o600
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--cc", "SE", "--role", "node", "--name", "x"), "no SE CA"),
        (("--cc", "NOR", "--role", "node", "--name", "x"), "alpha-2"),
        (("--cc", "NO", "--role", "node", "--name", "../x"), "name '../x'"),
        (("--cc", "NO", "--role", "node", "--name", "x", "--san", "bad name"), "--san"),
        (("--cc", "NO", "--role", "node", "--name", "x", "--days", "0"), "--days"),
    ],
)
def test_issue_errors_are_clear(out: Path, args: tuple[str, ...], message: str) -> None:
    result = pki_cli("issue", "--out", str(out), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_commands_need_init_first(tmp_path: Path) -> None:
    result = pki_cli("country", "--out", str(tmp_path / "none"), "--cc", "NO")
    assert result.returncode == 2
    assert "pki init" in result.stderr


def test_bad_trust_domain(tmp_path: Path) -> None:
    result = pki_cli("init", "--out", str(tmp_path / "p"), "--trust-domain", "Bad Domain")
    assert result.returncode == 2
    assert "trust domain" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("issue", "--cc", "NO", "--role", "node", "--name", "no-ca", "--force"),
        ("issue", "--cc", "NO", "--role", "node", "--name", "root-ca", "--force"),
        ("country", "--cc", "NO", "--force"),
        ("init", "--trust-domain", "allelemesh.example", "--force"),
    ],
)
def test_a_ca_is_never_overwritten(out: Path, args: tuple[str, ...]) -> None:
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = pki_cli(*args, "--out", str(out))
    assert result.returncode == 2, result.stdout
    assert "never" in result.stderr
    assert "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_leaf_is_never_written_over_a_ca_file_under_another_name(out: Path) -> None:
    (out / "edge.crt").write_bytes((out / "no-ca.crt").read_bytes())  # a CA copied by hand
    (out / "edge.key").write_bytes((out / "no-ca.key").read_bytes())
    result = pki_cli("issue", "--out", str(out), "--cc", "NO", "--role", "node", "--name", "edge",
                     "--force")  # fmt: skip
    assert result.returncode == 2
    assert "is a CA certificate; allelemesh pki never overwrites a CA" in result.stderr
    assert (out / "edge.crt").read_bytes() == (out / "no-ca.crt").read_bytes()


def test_revoke_writes_the_deny_list(out: Path) -> None:
    ok("issue", "--out", str(out), "--cc", "NO", "--role", "node", "--name", "no-oslo-1")
    serial = load_all(out / "no-oslo-1.crt")[0].serial_number
    ok("revoke", "--out", str(out), "--cert", str(out / "no-oslo-1.crt"), "--reason", "lost key")
    ok("revoke", "--out", str(out), "--serial", f"0x{serial:x}")  # the same: not repeated
    ok("revoke", "--out", str(out), "--spiffe-id", "spiffe://allelemesh.example/country/NO/node/x")
    lines = [
        line for line in (out / "deny-list.txt").read_text().splitlines()
        if not line.startswith("#")
    ]  # fmt: skip
    assert len(lines) == 2
    assert lines[0].startswith(f"serial {serial:X}") or lines[0].startswith(f"serial 0{serial:X}")
    assert "lost key" in lines[0]
    assert lines[1].startswith("spiffe spiffe://allelemesh.example/country/NO/node/x")
    bad = pki_cli("revoke", "--out", str(out), "--spiffe-id", "https://example.org")
    assert bad.returncode == 2
    assert "--spiffe-id" in bad.stderr
