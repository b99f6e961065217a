"""``allelemesh query`` when the connection fails: which side and why, never "answered".

Real nodes on loopback (mTLS with certificates from tests/pki_factory.py, or plaintext),
the real CLI in a subprocess, one mistake per test: a foreign CA, an expired client
certificate, a client certificate from another PKI, TLS against plaintext and back, and
nothing listening at all.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from cryptography import x509

from mesh.config import NodeConfig, TlsConfig
from nodes.serve.server import start_node
from tests.mesh.security.conftest import run_node
from tests.mesh_harness import REPO, free_port
from tests.pki_factory import TestPki

pytestmark = pytest.mark.slow


@pytest.fixture
def test_pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki")


async def query(port: int, tls: TlsConfig | Path | None) -> tuple[int, str]:
    flags = ["--insecure"]
    if isinstance(tls, Path):  # --ca alone: TLS without a client certificate
        flags = ["--ca", str(tls)]
    elif tls is not None:
        flags = ["--ca", str(tls.ca[0]), "--cert", str(tls.cert), "--key", str(tls.key)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh", "query", "1-55051215-G-GA", "--target",
        f"127.0.0.1:{port}", "--timeout", "5", *flags,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    lines = stderr.decode().strip().splitlines()
    assert not any("Traceback" in line for line in lines)
    return process.returncode, lines[-1]


async def test_server_from_a_ca_we_do_not_trust(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    foreign = test_pki.foreign()
    client = foreign.tls(foreign.leaf("FI", "gateway", "fi-gw"))  # trusts only the foreign root
    async with run_node(server) as port:
        code, line = await query(port, client)
    assert code == 1
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{port}: server certificate not trusted by "
        "our CA bundle (root-ca.crt): unable to get local issuer certificate"
    )


async def test_our_expired_certificate_is_named(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-old", expired=True))
    end = x509.load_pem_x509_certificates(client.cert.read_bytes())[0].not_valid_after_utc
    async with run_node(server) as port:
        code, line = await query(port, client)
    assert code == 1
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{port}: our certificate was refused by the "
        f"server: expired on {end.strftime('%Y-%m-%d %H:%M UTC')} ({client.cert})"
    )


async def test_our_certificate_from_another_pki(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    foreign = test_pki.foreign()
    # Same names, other keys: it trusts our root, but its own chain is foreign.
    client = foreign.tls(foreign.leaf("FI", "gateway", "fi-gw"), test_pki.root_cert)
    async with run_node(server) as port:
        code, line = await query(port, client)
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{port}: our certificate was refused by the "
        "server: issued by a CA outside the trust bundle (ours does not trust it either) "
        f"({client.cert})"
    )
    assert code == 1


async def test_plaintext_against_tls_and_tls_against_plaintext(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    async with run_node(server) as port:
        _, line = await query(port, None)
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{port}: 127.0.0.1:{port} speaks TLS: drop "
        "--insecure and give --ca, --cert and --key"
    )
    plain = await start_node(
        NodeConfig(id="no-plain", country="NO", listen="127.0.0.1:0", datasets=()),
        insecure=True,
    )
    try:
        client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
        _, line = await query(plain.port, client)
    finally:
        await plain.stop(None)
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{plain.port}: 127.0.0.1:{plain.port} does "
        "not speak TLS (a plaintext server? then use --insecure)"
    )


async def test_no_client_certificate_is_named(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    async with run_node(server) as port:
        code, line = await query(port, test_pki.root_cert)
    assert code == 1
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{port}: server asked for a client "
        "certificate and we sent none (give --cert and --key)"
    )


async def test_nothing_listening_is_not_an_answer() -> None:
    port = free_port()
    code, line = await query(port, None)
    assert code == 1
    assert line == (
        f"allelemesh: error: cannot reach 127.0.0.1:{port}: nothing is listening at "
        f"127.0.0.1:{port} (connection refused)"
    )
    assert "answered" not in line
