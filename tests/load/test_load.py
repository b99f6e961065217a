"""Load: a mixed workload for a fixed time at a fixed concurrency, memory flat throughout.

Three node processes and a gateway process (``allelemesh gateway serve``) on
loopback; :mod:`loadgen` drives the gateway (lookups, batches, regions) while the RSS
of every process is sampled from /proc. No call may fail, every answer is checked
against the independent expected counts on a sample, and no process may grow beyond
its post-warm-up peak by more than ``RSS_TOLERANCE`` (+ ``RSS_SLACK_KIB``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from loadgen import RssSampler, Workload, run_load
from mesh.v1 import allele_service_pb2, allele_service_pb2_grpc
from tests.faults.figures import Figures, bound
from tests.faults.procs import FleetNode, NodeFleet
from tests.faults.world import AnswerChecker, World, make_world, to_variant
from tests.mesh_harness import REPO, free_port, wait_for_health

pytestmark = pytest.mark.slow

RSS_TOLERANCE = 0.10
RSS_SLACK_KIB = 8 * 1024


@contextlib.contextmanager
def gateway_process(root: Path, fleet: NodeFleet, world: World) -> Iterator[tuple[str, int]]:
    """``allelemesh gateway serve --config gateway.toml --insecure``; killed on exit."""
    port = free_port()
    lines = ["[gateway]", 'id = "gw-load"', f'listen = "127.0.0.1:{port}"', "timeout_ms = 3000"]
    for node in world.nodes:
        lines += [
            "[[peers]]",
            f'id = "{node.node_id}"',
            f'country = "{node.country}"',
            f'address = "{fleet.nodes[node.node_id].address}"',
        ]
    config = root / "gateway.toml"
    config.write_text("\n".join(lines) + "\n")
    command = [
        sys.executable,
        "-m",
        "mesh",
        "--log-level",
        "WARNING",
        "gateway",
        "serve",
        "--config",
        str(config),
        "--insecure",
    ]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
        try:
            try:
                wait_for_health(f"127.0.0.1:{port}", 60)
            except TimeoutError:
                log.seek(0)
                raise TimeoutError(log.read().decode(errors="replace")[-2000:]) from None
            yield f"127.0.0.1:{port}", process.pid
        finally:
            process.kill()
            process.wait(timeout=10)


async def check_answers(target: str, world: World, count: int) -> list[str]:
    """Ask ``count`` lookups and compare every count with the expected one."""
    checker = AnswerChecker(world)
    problems: list[str] = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        for variant in world.variants[:count]:
            request = allele_service_pb2.LookupVariantRequest(variant=to_variant(variant))
            problems += checker.lookup(variant, await stub.LookupVariant(request, timeout=5))
    return problems


async def test_mixed_load_reports_qps_latency_and_memory_stays_flat(tmp_path, figures: Figures):
    """loadgen on a gateway + 3 nodes: 0 errors, answers right, RSS of every process flat."""
    duration_s = bound(15.0, 600.0)
    world = make_world(tmp_path, 3, own=200, shared=50)
    workload = Workload(
        variants=world.variants,
        regions=[("1", 100_000, 102_000), ("1", 200_000, 220_000), ("2", 200_000, 220_000)],
    )
    fleet_nodes = [FleetNode(n.node_id, n.country, [n.index]) for n in world.nodes]
    with NodeFleet(fleet_nodes) as fleet, gateway_process(tmp_path, fleet, world) as (target, gw):
        pids = {"gateway": gw} | {n.node_id: n.pid for n in fleet.nodes.values()}
        with RssSampler(list(pids.values()), interval_s=0.25) as rss:
            report = await run_load(target, workload, duration_s=duration_s, concurrency=16)
        problems = await check_answers(target, world, 100)
        # The CLI, briefly: same engine, exit 0, JSON out.
        cli = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "loadgen",
                "--target",
                target,
                "--duration",
                "1",
                "--concurrency",
                "4",
                "--variant",
                "-".join(map(str, world.variants[0])),
                "--region",
                "1:100000-102000",
                "--pid",
                str(gw),
                "--json",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    growth = {name: rss.growth(pid) for name, pid in pids.items()}
    figures.queries = report.requests + 100
    figures.within_deadline = report.ok + 100 - len(problems)
    figures.wrong_answers = len(problems)
    figures.note(
        duration_s=report.duration_s,
        concurrency=report.concurrency,
        qps=report.qps,
        p50_ms=report.p50_ms,
        p99_ms=report.p99_ms,
        max_ms=report.max_ms,
        errors=report.errors,
        by_kind=report.by_kind,
        rss_kib_after_warmup_and_at_end=growth,
    )
    assert report.error_count == 0, report.errors
    assert report.requests > 200, report
    assert not problems, problems[:5]
    for name, (early, late) in growth.items():
        assert early > 0, f"no RSS samples for {name}"
        assert late <= early * (1 + RSS_TOLERANCE) + RSS_SLACK_KIB, (name, early, late)
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert json.loads(cli.stdout)["requests"] > 0
