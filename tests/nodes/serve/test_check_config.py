"""``allelemesh node check-config``: what a start would check and serve, without serving."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from tests.mesh_harness import REPO, free_port, write_dataset
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord

pytestmark = pytest.mark.slow


@pytest.fixture
def test_pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("DE",))


@pytest.fixture
def index(tmp_path: Path) -> Path:
    site = SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[12], hom=[2]))
    return write_dataset(tmp_path / "data", "de-a", [site])


def node_toml(tmp_path: Path, tls: tuple[Path, Path, Path], dataset_id: str, index: Path,
              listen: str, metrics: str) -> Path:  # fmt: skip
    ca, cert, key = tls
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "de-berlin-1"\ncountry = "DE"\nlisten = "{listen}"\n'
        f'[tls]\nca = ["{ca}"]\ncert = "{cert}"\nkey = "{key}"\n'
        f'[metrics]\nlisten = "{metrics}"\n'
        f'[[datasets]]\nid = "{dataset_id}"\nindex = "{index}"\n'
    )
    return config


def check(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", "node", "check-config", str(config)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")},
    )  # fmt: skip


def test_a_good_config_prints_what_would_be_served(tmp_path, test_pki, index):
    issued = test_pki.leaf("DE", "node", "de-berlin-1")
    listen, metrics = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    config = node_toml(tmp_path, (test_pki.root_cert, issued.cert, issued.key), "de-a", index,
                       listen, metrics)  # fmt: skip
    result = check(config, tmp_path)
    assert result.returncode == 0, result.stderr
    meta = json.loads((index / "dataset.json").read_text())
    leaf = x509.load_pem_x509_certificates(issued.cert.read_bytes())[0]
    until = leaf.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
    version = os.path.basename(os.readlink(index))
    assert result.stdout.splitlines() == [
        "node de-berlin-1 (DE), 1 worker(s)",
        "transport: mTLS as spiffe://allelemesh.example/country/DE/node/de-berlin-1 "
        f"({issued.cert}, valid until {until})",
        f"trusting: {test_pki.root_cert}",
        f"dataset de-a: GRCh38, {meta['variant_count']:,} variants, "
        f"{meta['sample_count']:,} samples, version {version} ({index})",
        "dataset de-a: disclosure not checked (index build --policy records a check)",
        f"gRPC on {listen} ([node].listen): free",
        f"metrics on {metrics} ([metrics].listen): free",
        f"{config}: OK (nothing was started)",
    ]
    # Nothing was left listening.
    for address in (listen, metrics):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", int(address.rsplit(":", 1)[1])))


def test_every_problem_is_listed_and_the_exit_is_2(tmp_path, test_pki, index):
    expired = test_pki.leaf("DE", "node", "de-old", expired=True)
    other = test_pki.leaf("DE", "node", "de-other")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # The key of another certificate, an expired certificate, the wrong dataset id,
        # and a metrics port this test holds.
        config = node_toml(tmp_path, (test_pki.root_cert, expired.cert, other.key), "de-b",
                           index, f"127.0.0.1:{free_port()}", f"127.0.0.1:{port}")  # fmt: skip
        result = check(config, tmp_path)
    assert result.returncode == 2
    problems = [
        line.removeprefix("allelemesh: configuration error: ")
        for line in result.stderr.splitlines()
        if "configuration error" in line
    ]
    assert problems[0] == f"[tls].key: {other.key} is not the key of certificate {expired.cert}"
    assert problems[1].startswith(f"[tls].cert: certificate {expired.cert} expired on ")
    assert problems[2] == (f"[[datasets]][0] id 'de-b': index {index} holds dataset 'de-a'")
    assert problems[3].startswith(
        f"[metrics].listen 127.0.0.1:{port}: port {port} is in use by pid {os.getpid()} ("
    )
    assert len(problems) == 4
    assert result.stdout.splitlines()[-1] == f"{config}: 4 problem(s); would not start"
