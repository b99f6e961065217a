"""``allelemesh health``: the probe that containers, Kubernetes and operators use.

A real node process over mTLS (certificates from a throw-away PKI), asked through the
real CLI, both from its own config file and with explicit TLS options.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.cli.health import local_target
from tests.mesh_harness import REPO, free_port, wait_for_health
from tests.pki_factory import TestPki

pytestmark = pytest.mark.slow


def health(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")}
    return subprocess.run(
        [sys.executable, "-m", "mesh", "health", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def node(tmp_path: Path):
    """A node process serving over mTLS from node.toml; yields (config, port, pki)."""
    test_pki = TestPki.create(tmp_path / "pki", countries=("NO",))
    issued = test_pki.leaf("NO", "node", "no-oslo-1")
    tls = test_pki.tls(issued)
    port = free_port()
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "no-oslo-1"\ncountry = "NO"\nlisten = "0.0.0.0:{port}"\n'
        f'[tls]\nca = ["{tls.ca[0]}"]\ncert = "{tls.cert}"\nkey = "{tls.key}"\n'
    )
    env = {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh", "node", "serve", "--config", str(config)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_health(f"127.0.0.1:{port}", tls=tls)
        yield config, port, test_pki
    finally:
        process.kill()
        process.wait(timeout=10)


def test_local_target_dials_loopback_for_wildcards() -> None:
    assert local_target("0.0.0.0:50051") == "127.0.0.1:50051"
    assert local_target("[::]:50051") == "[::1]:50051"
    assert local_target("10.0.0.7:50051") == "10.0.0.7:50051"


def test_health_from_the_process_config(tmp_path: Path, node) -> None:
    config, port, _ = node
    result = health(tmp_path, "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"127.0.0.1:{port}: SERVING"


def test_health_of_one_service_with_explicit_tls(tmp_path: Path, node) -> None:
    _, port, test_pki = node
    operator = test_pki.leaf("NO", "operator", "ops")
    tls = ["--ca", str(test_pki.root_cert), "--cert", str(operator.cert),
           "--key", str(operator.key)]  # fmt: skip
    target = f"127.0.0.1:{port}"
    ok = health(tmp_path, "--target", target, *tls, "--service", "mesh.v1.AlleleFrequencyService")
    assert ok.returncode == 0, ok.stderr
    unknown = health(tmp_path, "--target", target, *tls, "--service", "no.such.Service")
    assert unknown.returncode == 1
    assert "not serving: NOT_FOUND" in unknown.stderr


def test_health_of_a_stopped_server_is_exit_1(tmp_path: Path) -> None:
    target = f"127.0.0.1:{free_port()}"
    result = health(tmp_path, "--target", target, "--insecure", "--timeout", "1")
    assert result.returncode == 1
    assert "not serving: " in result.stderr
    assert "Traceback" not in result.stderr


def test_health_usage_errors_are_exit_2(tmp_path: Path) -> None:
    no_tls = health(tmp_path, "--target", "127.0.0.1:1")
    assert no_tls.returncode == 2
    assert "give --ca, --cert and --key for mTLS, or --insecure" in no_tls.stderr
    other = tmp_path / "other.toml"
    other.write_text("[something]\nx = 1\n")
    wrong = health(tmp_path, "--config", str(other))
    assert wrong.returncode == 2
    assert "neither a [node] nor a [gateway] table" in wrong.stderr
