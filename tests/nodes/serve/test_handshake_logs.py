"""A node's failed TLS handshakes are JSON log lines with the peer's address and the reason.

A real ``allelemesh node serve`` process with mTLS (stderr to a file, as under systemd),
and real clients making the mistakes: an expired certificate, a certificate from a
foreign CA, no certificate at all.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from mesh.plumbing.channels import open_channel
from mesh.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from tests.mesh_harness import REPO, free_port, wait_for_health
from tests.pki_factory import TestPki

pytestmark = pytest.mark.slow


def failed_call(address: str, tls) -> None:
    with open_channel(address, tls) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        with pytest.raises(grpc.RpcError):
            stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=3)


def bare_tls_client(port: int, cafile: Path) -> tuple[str, int]:
    """A TLS client without a certificate; returns its own address. It gets nothing."""
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port)) as raw:
        own = raw.getsockname()
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"x")
                data = tls.recv(1)
        except (ssl.SSLError, OSError):
            data = b""
    assert data == b""
    return own[0], own[1]


def handshakes(log: Path) -> list[dict[str, str]]:
    entries = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "tls_handshake_failed":
                entries.append(entry)
    return entries


def test_failed_handshakes_name_peer_and_reason(tmp_path: Path) -> None:
    test_pki = TestPki.create(tmp_path / "pki", countries=("DE", "NO"))
    server = test_pki.tls(test_pki.leaf("DE", "node", "de-berlin-1"))
    port = free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "de-berlin-1"\ncountry = "DE"\nlisten = "127.0.0.1:{port}"\n'
        f'[tls]\nca = ["{server.ca[0]}"]\ncert = "{server.cert}"\nkey = "{server.key}"\n'
    )
    log = tmp_path / "node.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mesh", "node", "serve", "--config", str(config)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=sink,
            env={**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")},
        )  # fmt: skip
        try:
            good = test_pki.tls(test_pki.leaf("NO", "gateway", "no-gw"))
            wait_for_health(f"127.0.0.1:{port}", 30, tls=good)
            pid = process.pid
            expired = test_pki.tls(test_pki.leaf("NO", "gateway", "no-old", expired=True))
            failed_call(f"127.0.0.1:{port}", expired)
            foreign = test_pki.foreign()
            rogue = foreign.tls(foreign.leaf("NO", "gateway", "no-gw"), test_pki.root_cert)
            failed_call(f"127.0.0.1:{port}", rogue)
            # No certificate at all, with the client's own address known to the test.
            own = bare_tls_client(port, test_pki.root_cert)
            deadline = time.monotonic() + 10
            while len({e["reason"] for e in handshakes(log)}) < 3:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
    entries = handshakes(log)
    reasons = {e["reason"] for e in entries}
    assert reasons == {
        "certificate has expired",
        "unable to get local issuer certificate",
        "the client sent no certificate",
    }
    for entry in entries:
        assert entry["level"] == "warning"
        assert entry["peer"].startswith("127.0.0.1:")
        assert entry["message"] == f"TLS handshake from {entry['peer']} failed: {entry['reason']}"
    bare = next(e for e in entries if e["reason"] == "the client sent no certificate")
    assert bare["peer"] == f"{own[0]}:{own[1]}"
    assert pid == process.pid  # the re-exec for the tracer kept the pid
    text = log.read_text()
    assert "ssl_transport_security.cc" not in text  # gRPC's own line was routed, not printed
    assert "handshaker.cc" not in text
