"""Dead certificates stop a start; dying ones are warned about in logs and /metrics.

Real certificate files from a throw-away PKI (tests/pki_factory.py): an expired one, one
not valid for two more days, one with ten days left; real ``allelemesh`` processes for
the refusals, real nodes and peers (mTLS) for the warnings.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from mesh.config import NodeConfig, PeerConfig, TlsConfig
from mesh.security import pki
from mesh.tracing import MetricsConfig
from nodes.serve.server import start_node
from tests.mesh_harness import REPO, free_port
from tests.pki_factory import TestPki

pytestmark = pytest.mark.slow


@pytest.fixture
def test_pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("DE", "NO"))


def dates(cert: Path) -> tuple[str, str]:
    leaf = x509.load_pem_x509_certificates(cert.read_bytes())[0]
    fmt = "%Y-%m-%d %H:%M UTC"
    return leaf.not_valid_before_utc.strftime(fmt), leaf.not_valid_after_utc.strftime(fmt)


def node_toml(tmp_path: Path, tls: TlsConfig, *, metrics: str = "") -> Path:
    config = tmp_path / "node.toml"
    extra = f'[metrics]\nlisten = "{metrics}"\n' if metrics else ""
    config.write_text(
        f'[node]\nid = "de-berlin-1"\ncountry = "DE"\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[tls]\nca = ["{tls.ca[0]}"]\ncert = "{tls.cert}"\nkey = "{tls.key}"\n{extra}'
    )
    return config


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")}
    return subprocess.run(
        [sys.executable, "-m", "mesh", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def config_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "configuration error" in line]
    return line.removeprefix("allelemesh: configuration error: ")


def test_node_with_an_expired_certificate_refuses_to_start(tmp_path: Path, test_pki: TestPki):
    tls = test_pki.tls(test_pki.leaf("DE", "node", "de-berlin-1", expired=True))
    start, end = dates(tls.cert)
    line = config_error(run(tmp_path, "node", "serve", "--config", str(node_toml(tmp_path, tls))))
    assert line == (
        f"[tls].cert: certificate {tls.cert} expired on {end} (valid from {start} to {end}) "
        "(renew it: allelemesh pki issue ...)"
    )


def test_node_with_a_not_yet_valid_certificate_refuses_to_start(tmp_path: Path, test_pki: TestPki):
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    issued = pki.issue_leaf(test_pki.out, "DE", "node", "de-berlin-1", not_before=future)
    tls = test_pki.tls(issued)
    start, end = dates(tls.cert)
    line = config_error(run(tmp_path, "node", "serve", "--config", str(node_toml(tmp_path, tls))))
    assert line == (
        f"[tls].cert: certificate {tls.cert} is not valid until {start} "
        f"(valid from {start} to {end}): check this machine's clock "
        "(renew it: allelemesh pki issue ...)"
    )


def test_gateway_with_an_expired_certificate_refuses_to_start(tmp_path: Path, test_pki: TestPki):
    tls = test_pki.tls(test_pki.leaf("DE", "gateway", "de-gw", expired=True))
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[gateway]\nid = "de-gw"\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[tls]\nca = ["{tls.ca[0]}"]\ncert = "{tls.cert}"\nkey = "{tls.key}"\n'
        '[[peers]]\nid = "no-oslo-1"\ncountry = "NO"\naddress = "127.0.0.1:9"\n'
    )
    line = config_error(run(tmp_path, "gateway", "serve", "--config", str(config)))
    assert line.startswith(f"[tls].cert: certificate {tls.cert} expired on ")


def test_expired_ca_in_the_bundle_is_refused(tmp_path: Path, test_pki: TestPki):
    tls = test_pki.tls(test_pki.leaf("DE", "node", "de-berlin-1"))
    # An expired certificate in [tls].ca: the bundle would trust nothing through it.
    dead = test_pki.foreign("dead").leaf("DE", "node", "x", expired=True).cert
    bundle = TlsConfig(ca=(tls.ca[0], dead), cert=tls.cert, key=tls.key)
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "de-berlin-1"\ncountry = "DE"\nlisten = "127.0.0.1:{free_port()}"\n'
        f'[tls]\nca = ["{bundle.ca[0]}", "{bundle.ca[1]}"]\ncert = "{tls.cert}"\n'
        f'key = "{tls.key}"\n'
    )
    line = config_error(run(tmp_path, "node", "serve", "--config", str(config)))
    assert line.startswith(f"[tls].ca: certificate {dead} expired on ")


def warnings(stderr: str) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [entry for entry in lines if entry.get("level") == "warning"]


def test_certificate_near_its_end_is_warned_about_in_logs(tmp_path: Path, test_pki: TestPki):
    tls = test_pki.tls(test_pki.leaf("DE", "node", "de-berlin-1", days=10))
    _, end = dates(tls.cert)
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh", "node", "serve", "--config", str(node_toml(tmp_path, tls))],
        cwd=REPO, env={**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")},
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        seen = []
        for _ in range(200):  # bounded: the warning comes before "serving"
            line = process.stderr.readline()
            seen.append(line)
            if "serving" in line or not line:
                break
    finally:
        process.terminate()
        process.wait(timeout=20)
    [warning] = [w for w in warnings("".join(seen)) if "certificate" in w["message"]]
    # Issued 5 minutes back-dated (clock skew) for 10 days: 9 whole days are left.
    assert warning["message"] == f"our certificate {tls.cert} expires in 9 days, on {end}: renew it"
    assert warning["certificate"] == str(tls.cert)
    assert warning["kind"] == "own"


def samples(text: str) -> dict[tuple[str, str, str], float]:
    """(metric, kind, certificate) -> value of the certificate gauges."""
    return {
        (sample.name, sample.labels["kind"], sample.labels["certificate"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("allelemesh_certificate_")
    }


async def scrape(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    response = await reader.read()
    writer.close()
    return response.partition(b"\r\n\r\n")[2].decode()


async def test_own_and_peer_certificates_near_their_end_show_in_metrics(test_pki: TestPki):
    no_tls = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1", days=10))
    de_tls = test_pki.tls(test_pki.leaf("DE", "node", "de-berlin-1", days=365))
    no = await start_node(
        NodeConfig(id="no-oslo-1", country="NO", listen="127.0.0.1:0", datasets=(), tls=no_tls)
    )
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{no.port}",))
    de = await start_node(
        NodeConfig(
            id="de-berlin-1", country="DE", listen="127.0.0.1:0", datasets=(), tls=de_tls,
            peers=(peer,), metrics=MetricsConfig("127.0.0.1:0"),
        )
    )  # fmt: skip
    try:
        assert de.metrics_server is not None
        port = de.metrics_server.sockets[0].getsockname()[1]
        peer = ("peer", f"127.0.0.1:{no.port}")
        own = ("own", str(de_tls.cert))
        for _ in range(100):  # the peer's certificate is seen once its identity is checked
            found = samples(await scrape(port))
            if ("allelemesh_certificate_expiring_soon", *peer) in found:
                break
            await asyncio.sleep(0.1)
        assert found[("allelemesh_certificate_expiring_soon", *peer)] == 1.0
        assert found[("allelemesh_certificate_expiring_soon", *own)] == 0.0
        no_end = x509.load_pem_x509_certificates(no_tls.cert.read_bytes())[0].not_valid_after_utc
        expiry = found[("allelemesh_certificate_expiry_timestamp_seconds", *peer)]
        assert expiry == no_end.timestamp()
    finally:
        await de.stop(None)
        await no.stop(None)
