"""The node as operators run it: real ``allelemesh`` subprocesses, signals included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.mesh_harness import free_port, wait_for_health
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "mesh"]
ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"allelemesh {' '.join(args)} failed:\n{result.stderr}")
    return result


@contextmanager
def node_process(*args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [*CLI, "--log-level", "DEBUG", "node", "serve", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def records(an: int) -> list[SiteRecord]:
    return [
        SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=an, ac=[12], hom=[2])),
        SiteRecord("1", 55052000, "C", ["T", "A"], GroupCounts(an=an, ac=[5, 1], hom=[0, 0])),
        SiteRecord("2", 1000, "A", ["C"], GroupCounts(an=an, ac=[3], hom=[1])),
    ]


@pytest.fixture
def built_index(tmp_path: Path) -> Path:
    vcf = write_sites_vcf(tmp_path / "no.vcf", records(1000), bgzip=True)
    out = tmp_path / "no-index"
    cli("index", "build", str(vcf), "--dataset", "no-demo", "--assembly", "GRCh38",
        "--out", str(out), "--title", "NO demo")  # fmt: skip
    return out


def lookup(address: str) -> allele_service_pb2.LookupVariantResponse:
    with grpc.insecure_channel(address) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        return stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(
                variant=allele_pb2.Variant(
                    chromosome="1", position=55051215, reference_bases="G", alternate_bases="GA"
                )
            ),
            timeout=5,
        )


def test_serve_query_reload_and_stop(built_index: Path, tmp_path: Path):
    address = f"127.0.0.1:{free_port()}"
    with node_process(
        "--index", str(built_index), "--listen", address, "--node-id", "no-oslo-1",
        "--country", "NO", "--insecure",
    ) as process:  # fmt: skip
        wait_for_health(address, 30.0)
        table = cli("query", "1-55051215-G-GA", "--target", address, "--insecure")
        assert "no-demo" in table.stdout
        assert "no-oslo-1" in table.stdout
        assert "12" in table.stdout
        as_json = json.loads(
            cli("query", "chr1:55051215:G:GA", "--target", address, "--insecure", "--json").stdout
        )
        [frequency] = as_json["frequencies"]
        assert frequency["counts"]["allele_count"] == "12"  # JSON int64 is a string
        assert frequency["counts"]["allele_number"] == "1000"
        region = json.loads(
            cli("query", "1:55051000-55053000", "--target", address, "--insecure", "--json").stdout
        )
        assert [f["variant"]["alternate_bases"] for f in region["frequencies"]] == ["GA", "A", "T"]

        # Rebuild with new counts, then SIGHUP: served without a restart.
        vcf = write_sites_vcf(tmp_path / "no2.vcf", records(2000), bgzip=True)
        cli("index", "build", str(vcf), "--dataset", "no-demo", "--assembly", "GRCh38",
            "--out", str(built_index))  # fmt: skip
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while lookup(address).frequencies[0].counts.allele_number != 2000:
            assert time.monotonic() < deadline, "rebuilt index never served"
            time.sleep(0.1)
        assert process.poll() is None

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        logs = process.stderr.read() if process.stderr else ""
    # Privacy: the node's logs never carry the coordinates it was asked about.
    assert "55051215" not in logs
    assert "LookupVariant" in logs


def test_workers_share_one_port(built_index: Path):
    address = f"127.0.0.1:{free_port()}"
    with node_process(
        "--index", str(built_index), "--listen", address, "--node-id", "no-oslo-1",
        "--country", "NO", "--insecure", "--workers", "2",
    ) as process:  # fmt: skip
        wait_for_health(address, 30.0)
        for _ in range(20):
            assert lookup(address).frequencies[0].counts.allele_count == 12
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 2
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_bad_config_names_the_key_and_exits_2(tmp_path: Path):
    config = tmp_path / "node.toml"
    config.write_text('[node]\nid = "x"\ncountry = "Norway"\nlisten = "127.0.0.1:1"\n')
    result = cli("node", "serve", "--config", str(config), "--insecure", check=False)
    assert result.returncode == 2
    assert "[node].country" in result.stderr


def test_missing_index_is_a_clear_error(tmp_path: Path):
    result = cli(
        "node", "serve", "--index", str(tmp_path / "absent"), "--node-id", "x",
        "--country", "NO", "--insecure", check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "absent" in result.stderr


def test_unreadable_index_is_refused_at_start(built_index: Path, tmp_path: Path):
    if os.geteuid() == 0:
        # root reads anything: use a directory that is not an index instead.
        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "dataset.json").write_text("{not json")
    else:  # pragma: no cover - CI runs as root
        broken = built_index
        os.chmod(os.path.realpath(built_index), 0)
    result = cli(
        "node", "serve", "--index", str(broken), "--node-id", "x", "--country", "NO",
        "--insecure", check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "broken" in result.stderr or "index" in result.stderr
