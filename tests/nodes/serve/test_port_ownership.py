"""One port, one node: a second process is refused by name; busy ports are one line, exit 2.

Real ``allelemesh`` subprocesses on loopback; the port lock lives in a runtime dir of
the test's own (``ALLELEMESH_RUNTIME_DIR``), shared by every process of one test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.mesh_harness import free_port, held_port, wait_for_health, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


def site(ac: int) -> list[SiteRecord]:
    return [SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[ac], hom=[0]))]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")}


@pytest.fixture
def indexes(tmp_path: Path) -> tuple[Path, Path]:
    return (
        write_dataset(tmp_path / "a", "de-a", site(12)),
        write_dataset(tmp_path / "b", "de-b", site(99)),
    )


def allelemesh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mesh", *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def node_args(index: Path, node_id: str, listen: str, *extra: str) -> list[str]:
    return ["node", "serve", "--index", str(index), "--node-id", node_id, "--country", "DE",
            "--listen", listen, "--insecure", *extra]  # fmt: skip


def allele_count(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        reply = stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(
                variant=allele_pb2.Variant(
                    chromosome="1", position=55051215, reference_bases="G", alternate_bases="GA"
                )
            ),
            timeout=5,
        )
    return int(reply.frequencies[0].counts.allele_count)


def clean_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert errors == [f"allelemesh: configuration error: {expected}"], result.stderr
    for noise in ("Traceback", "Event loop is closed", "add_port.cc"):
        assert noise not in result.stderr


def test_second_node_on_a_port_is_refused_and_the_first_keeps_it(
    env: dict[str, str], indexes: tuple[Path, Path]
) -> None:
    first, second = indexes
    port = free_port()
    address = f"127.0.0.1:{port}"
    with serving(env, *node_args(first, "de-berlin-1", address, "--workers", "2")) as owner:
        wait_for_health(address, 30.0)
        result = allelemesh(env, *node_args(second, "de-munich-1", address))
        clean_one_line(
            result,
            f"[node].listen {address}: port {port} is in use by pid {owner.pid} (node de-berlin-1)",
        )
        # Every answer on the port is still the first node's dataset (AC 12, never 99).
        assert {allele_count(address) for _ in range(30)} == {12}


def test_second_node_with_workers_is_refused_too(
    env: dict[str, str], indexes: tuple[Path, Path]
) -> None:
    first, second = indexes
    port = free_port()
    address = f"127.0.0.1:{port}"
    with serving(env, *node_args(first, "de-berlin-1", address)) as owner:
        wait_for_health(address, 30.0)
        result = allelemesh(env, *node_args(second, "de-munich-1", address, "--workers", "2"))
        clean_one_line(
            result,
            f"[node].listen {address}: port {port} is in use by pid {owner.pid} (node de-berlin-1)",
        )
        assert {allele_count(address) for _ in range(10)} == {12}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port this test process listens on (not an allelemesh process: no lock file)."""
    with held_port() as port:
        yield port


def test_grpc_port_held_by_another_program_names_it(
    env: dict[str, str], indexes: tuple[Path, Path], busy_port: int
) -> None:
    address = f"127.0.0.1:{busy_port}"
    result = allelemesh(env, *node_args(indexes[0], "de-berlin-1", address))
    assert result.returncode == 2
    prefix = (
        f"allelemesh: configuration error: [node].listen {address}: "
        f"port {busy_port} is in use by pid {os.getpid()} ("
    )
    [line] = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert line.startswith(prefix), result.stderr
    assert "Traceback" not in result.stderr


def test_busy_metrics_port_is_one_line_exit_2(
    env: dict[str, str], indexes: tuple[Path, Path], busy_port: int, tmp_path: Path
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "de-berlin-1"\ncountry = "DE"\nlisten = "{listen}"\n'
        f'[[datasets]]\nid = "de-a"\nindex = "{indexes[0]}"\n'
        f'[metrics]\nlisten = "127.0.0.1:{busy_port}"\n'
    )
    result = allelemesh(env, "node", "serve", "--config", str(config), "--insecure")
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert line.startswith(
        f"allelemesh: configuration error: [metrics].listen 127.0.0.1:{busy_port}: "
        f"port {busy_port} is in use by pid {os.getpid()} ("
    ), result.stderr
    assert "Traceback" not in result.stderr


def test_the_port_is_free_again_once_the_owner_dies(
    env: dict[str, str], indexes: tuple[Path, Path]
) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    with serving(env, *node_args(indexes[0], "de-berlin-1", address)) as owner:
        wait_for_health(address, 30.0)
        owner.kill()  # a crash: the kernel drops the lock with the process
        owner.wait(timeout=10)
    with serving(env, *node_args(indexes[1], "de-munich-1", address)):
        wait_for_health(address, 30.0)
        assert allele_count(address) == 99


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a directory of another uid")
def test_a_runtime_dir_of_another_user_is_refused(
    tmp_path: Path, indexes: tuple[Path, Path]
) -> None:
    run = tmp_path / "someone-elses"
    run.mkdir()
    os.chown(run, 12345, 12345)
    env = {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(run)}
    address = f"127.0.0.1:{free_port()}"
    result = allelemesh(env, *node_args(indexes[0], "de-berlin-1", address))
    clean_one_line(
        result,
        f"port locks: {run} belongs to uid 12345, not to us; set ALLELEMESH_RUNTIME_DIR",
    )
