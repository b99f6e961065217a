"""Index rebuilds while a node serves, and builders killed at random points.

* Rebuild and swap a node's index under a steady query load: every answer comes
  whole from one version (old or new), never a mix, never an error.
* SIGKILL ``python -m mesh index build`` at random points of its run (20+ times):
  the index the node serves stays complete and readable and the node keeps
  answering from it; the next successful build leaves no temporary directories.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import grpc
import pytest

from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.index.index_dir import versions_dir
from tests.count_helpers import as_tuple
from tests.faults.builds import (
    build_command,
    finished_versions,
    leftovers,
    run_build,
    served_version,
    which_version,
    write_versions,
)
from tests.faults.figures import bound
from tests.faults.procs import FleetNode, NodeFleet, wait_until
from tests.faults.world import to_variant
from tests.mesh_harness import REPO, VariantTuple
from tests.vcf_factory import Counts

pytestmark = pytest.mark.slow


class VersionProbe:
    """Asks a node for every allele at once (batch, and region) and names the version."""

    def __init__(self, address: str, expected: list[dict[VariantTuple, Counts]]) -> None:
        self.channel = grpc.aio.insecure_channel(address)
        self.stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(self.channel)
        self.expected = expected
        self.variants = sorted(expected[0])
        self.seen: dict[int, int] = {}
        self.queries = 0
        self.wrong: list[str] = []
        self.errors: list[str] = []

    async def batch(self) -> int | None:
        request = allele_service_pb2.BatchLookupVariantsRequest(
            variants=[to_variant(v) for v in self.variants]
        )
        response = await self.stub.BatchLookupVariants(request, timeout=5)
        answer = {}
        for v, result in zip(self.variants, response.results, strict=True):
            if len(result.frequencies) != 1:
                self.wrong.append(f"{v}: {len(result.frequencies)} frequencies")
                continue
            answer[v] = as_tuple(result.frequencies[0].counts)
        return which_version(answer, self.expected)

    async def region(self) -> int | None:
        # One RPC over the span of every allele (all on one chromosome, one page).
        (chrom,) = {v[0] for v in self.variants}
        positions = [v[1] for v in self.variants]
        request = allele_service_pb2.SearchRegionRequest(
            region=allele_pb2.Region(chromosome=chrom, start=min(positions), end=max(positions)),
            page_size=1000,
        )
        response = await self.stub.SearchRegion(request, timeout=5)
        answer: dict[VariantTuple, Counts] = {}
        for f in response.frequencies:
            v = f.variant
            answer[(v.chromosome, v.position, v.reference_bases, v.alternate_bases)] = as_tuple(
                f.counts
            )
        if set(answer) != set(self.variants):
            self.wrong.append(f"region answer holds {len(answer)} of {len(self.variants)}")
            return None
        return which_version(answer, self.expected)

    async def ask(self, kind: str) -> None:
        self.queries += 1
        try:
            version = await (self.batch() if kind == "batch" else self.region())
        except grpc.aio.AioRpcError as error:
            self.errors.append(f"{kind}: {error.code().name}: {error.details()}")
            return
        if version is None:
            self.wrong.append(f"{kind}: answer matches no single version (a mix?)")
        else:
            self.seen[version] = self.seen.get(version, 0) + 1

    async def loop(self, stop: asyncio.Event, max_queries: int) -> None:
        kinds = ("batch", "region")
        while not stop.is_set() and self.queries < max_queries:
            await self.ask(kinds[self.queries % 2])

    async def close(self) -> None:
        await self.channel.close()


async def test_rebuild_and_swap_under_load_serves_old_or_new_never_a_mix(tmp_path, figures):
    """Rebuild + swap while serving: every answer is one whole version, no errors."""
    rebuilds = bound(6, 60)
    vcfs, expected = write_versions(tmp_path, 3, sites=300)
    out = tmp_path / "index"
    assert run_build(vcfs[0], out).returncode == 0
    node = FleetNode("rebuilt-node", "NO", [out])
    with NodeFleet([node]):
        probe = VersionProbe(node.address, expected)
        stop = asyncio.Event()
        clients = [asyncio.create_task(probe.loop(stop, bound(5_000, 100_000))) for _ in range(3)]
        try:
            for i in range(1, rebuilds + 1):
                version = i % len(vcfs)
                result = await asyncio.to_thread(run_build, vcfs[version], out)
                assert result.returncode == 0, result.stderr
                figures.faults_injected += 1
                if i % 2:
                    os.kill(node.pid, signal.SIGHUP)  # else: the node's own poll finds it
                before = probe.seen.get(version, 0)
                for _ in range(100):  # until the node answers from the new version (<= 5 s)
                    if probe.seen.get(version, 0) > before + 3:
                        break
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await asyncio.gather(*clients)
            await probe.close()
    figures.queries = probe.queries
    figures.within_deadline = probe.queries - len(probe.errors)
    figures.wrong_answers = len(probe.wrong)
    figures.note(rebuilds=rebuilds, answers_per_version=probe.seen, errors=len(probe.errors))
    assert not probe.errors, probe.errors[:5]
    assert not probe.wrong, probe.wrong[:5]
    assert len(probe.seen) == len(vcfs), f"not every version was served: {probe.seen}"
    assert leftovers(out) == []
    assert len(finished_versions(out)) <= 2


def _tmp_dir_of(out: Path, pid: int) -> bool:
    versions = versions_dir(out)
    return versions.exists() and any(p.name.startswith(f"tmp-{pid}-") for p in versions.iterdir())


def timed_build(vcf: Path, out: Path) -> tuple[float, float]:
    """Run one build; return (seconds until its tmp dir appeared, seconds after that)."""
    started = time.monotonic()
    builder = subprocess.Popen(build_command(vcf, out), cwd=REPO, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: _tmp_dir_of(out, builder.pid) or builder.poll() is not None, 60, 0.005)
        tmp_seen = time.monotonic()
        _, stderr = builder.communicate(timeout=120)
    finally:
        if builder.poll() is None:
            builder.kill()
            builder.wait()
    assert builder.returncode == 0, stderr
    return tmp_seen - started, time.monotonic() - tmp_seen


async def test_sigkilled_builder_never_breaks_the_served_index(tmp_path, figures):
    """SIGKILL the builder at random points 20+ times: served index whole, no tmp left."""
    kills_wanted = bound(20, 200)
    rng = random.Random(17)
    vcfs, expected = write_versions(tmp_path, 2, sites=3_000)
    out = tmp_path / "index"
    startup_s, build_s = await asyncio.to_thread(timed_build, vcfs[0], out)
    node = FleetNode("kill-node", "NO", [out])
    probe_variants = sorted(expected[0])[:50]
    kills = attempts = most_left = 0
    phases: dict[str, int] = {"before tmp dir": 0, "while building": 0}
    with NodeFleet([node]):
        probe = VersionProbe(node.address, [{v: e[v] for v in probe_variants} for e in expected])
        probe.variants = probe_variants
        try:
            while kills < kills_wanted and attempts < kills_wanted * 3:
                attempts += 1
                builder = subprocess.Popen(
                    build_command(vcfs[1], out),
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                try:
                    # A quarter of the kills land anywhere (imports, reading); the rest
                    # while the tmp dir exists, at a random point of the build proper.
                    if rng.random() < 0.25:
                        await asyncio.sleep(rng.uniform(0.0, startup_s + build_s))
                        phase = (
                            "before tmp dir"
                            if not _tmp_dir_of(out, builder.pid)
                            else ("while building")
                        )
                    else:
                        await asyncio.to_thread(
                            wait_until, lambda pid=builder.pid: _tmp_dir_of(out, pid), 30.0, 0.005
                        )
                        await asyncio.sleep(rng.uniform(0.0, build_s * 0.9))
                        phase = "while building"
                    if builder.poll() is None:
                        builder.kill()
                        kills += 1
                        phases[phase] += 1
                finally:
                    if builder.poll() is None:
                        builder.kill()
                    builder.wait(timeout=30)
                most_left = max(most_left, len(leftovers(out)))
                # Whatever happened, the served index is whole and readable...
                version = served_version(out, expected)
                assert version is not None, f"index broken after kill {kills}"
                if version == 1:  # the build won the race: put version 0 back
                    assert run_build(vcfs[0], out).returncode == 0
                    os.kill(node.pid, signal.SIGHUP)
                # ...and the node still answers from it.
                await probe.ask("batch")
            figures.faults_injected = kills
            assert kills >= kills_wanted, f"only {kills} kills in {attempts} attempts"
            assert not probe.errors, probe.errors
            assert not probe.wrong, probe.wrong
            # Each build removes what killed builders left: they never pile up...
            assert most_left <= 1
            stale_before = len(leftovers(out))
            # ...and the next successful build leaves nothing behind.
            result = run_build(vcfs[1], out)
            assert result.returncode == 0, result.stderr
            assert served_version(out, expected) == 1
            assert leftovers(out) == []
            assert len(finished_versions(out)) <= 2
        finally:
            await probe.close()
    figures.queries = probe.queries
    figures.within_deadline = probe.queries - len(probe.errors)
    figures.wrong_answers = len(probe.wrong)
    figures.note(
        builder_kills=kills,
        kill_attempts=attempts,
        kills_by_phase=phases,
        most_tmp_dirs_seen_after_a_kill=most_left,
        tmp_dirs_before_final_build=stale_before,
        builder_startup_ms=round(startup_s * 1000),
        build_ms=round(build_s * 1000),
    )
