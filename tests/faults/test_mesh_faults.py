"""A 9-node mesh keeps answering, correctly, while nodes crash, stall and drop connections.

Nine node processes on loopback behind one gateway. While a bounded client loop asks
(lookups, batches, regions, each with a deadline), nodes are SIGKILLed and restarted,
one is SIGSTOPped and continued, one sits behind a proxy that never answers and one
behind a proxy that cuts every response in half. Every answer must arrive within its
deadline + 100 ms, every node must appear in the outcomes with a status that says
what happened, and every count returned must equal the independent expected count.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import grpc
import pytest

from mesh.federation import BreakerSettings
from mesh.v1 import allele_pb2, allele_service_pb2
from tests.faults.figures import Figures, bound
from tests.faults.procs import FleetNode, NodeFleet
from tests.faults.proxies import BlackholeProxy, CutProxy
from tests.faults.world import OK, AnswerChecker, World, make_world, to_variant
from tests.mesh_harness import GatewayClient, fast_settings, peer_of, running_gateway

pytestmark = pytest.mark.slow

DEADLINE_S = 1.5
SLACK_S = 0.1
#: The shared alleles sit here (see make_world): one page holds the whole region.
SHARED_REGION = ("1", 100_000, 102_000)
KILLABLE = ("n0", "n1", "n2", "n3", "n4", "n5")
BLACKHOLED, STALLED, CUT = "n6", "n8", "n7"


@dataclass
class Tally:
    """What the client loop saw."""

    queries: int = 0
    within_deadline: int = 0
    late: int = 0
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    outcome_codes: dict[str, set[int]] = field(default_factory=dict)
    slowest_s: float = 0.0


async def ask_once(
    gw: GatewayClient, world: World, checker: AnswerChecker, rng: random.Random, tally: Tally
) -> None:
    """One query of a random kind, timed and checked."""
    kind = rng.choice(("lookup", "lookup", "batch", "region"))
    started = time.perf_counter()
    try:
        if kind == "lookup":
            variant = rng.choice(world.variants)
            request = allele_service_pb2.LookupVariantRequest(variant=to_variant(variant))
            response = await gw.allele.LookupVariant(request, timeout=DEADLINE_S)
            problems = checker.lookup(variant, response)
        elif kind == "batch":
            variants = rng.sample(world.variants, 8)
            batch = allele_service_pb2.BatchLookupVariantsRequest(
                variants=[to_variant(v) for v in variants]
            )
            response = await gw.allele.BatchLookupVariants(batch, timeout=DEADLINE_S)
            problems = checker.batch(variants, response)
        else:
            chrom, start, end = SHARED_REGION
            region = allele_service_pb2.SearchRegionRequest(
                region=allele_pb2.Region(chromosome=chrom, start=start, end=end), page_size=1000
            )
            response = await gw.allele.SearchRegion(region, timeout=DEADLINE_S)
            problems = checker.region(SHARED_REGION, response)
    except grpc.aio.AioRpcError as error:
        tally.queries += 1
        tally.errors.append(f"{kind}: {error.code().name} {error.details()}")
        if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            tally.late += 1
        return
    elapsed = time.perf_counter() - started
    tally.queries += 1
    tally.slowest_s = max(tally.slowest_s, elapsed)
    if elapsed <= DEADLINE_S + SLACK_S:
        tally.within_deadline += 1
    else:
        tally.late += 1
    for outcome in response.outcomes:
        tally.outcome_codes.setdefault(outcome.node_id, set()).add(outcome.status.code)
    tally.wrong.extend(f"{kind}: {p}" for p in problems)


async def client_loop(
    gw: GatewayClient, world: World, tally: Tally, stop: asyncio.Event, seed: int, max_q: int
) -> None:
    checker = AnswerChecker(world)
    rng = random.Random(seed)
    while not stop.is_set() and tally.queries < max_q:
        await ask_once(gw, world, checker, rng, tally)


async def inject_faults(fleet: NodeFleet, stop: asyncio.Event, figures: Figures) -> None:
    """Round-robin: SIGKILL a node and bring it back; every other round stall n8."""
    rng = random.Random(5)
    round_no = 0
    stalled = fleet.nodes[STALLED]
    while not stop.is_set():
        victim = fleet.nodes[KILLABLE[round_no % len(KILLABLE)]]
        if round_no % 2 == 0:
            stalled.stop()
            figures.faults_injected += 1
        victim.kill()
        figures.faults_injected += 1
        await asyncio.sleep(rng.uniform(0.3, 0.8))
        victim.spawn()  # back on the same port once its imports are done
        await asyncio.sleep(rng.uniform(0.5, 1.0))
        if stalled.stopped:
            stalled.cont()
        await asyncio.sleep(rng.uniform(0.2, 0.6))
        round_no += 1
    figures.note(kill_restart_rounds=round_no)


async def test_mesh_answers_through_kills_stalls_blackholes_and_cuts(tmp_path, figures):
    """9 node processes + gateway: SIGKILL/restart, SIGSTOP, blackhole and cut connections."""
    duration_s = bound(20.0, 300.0)
    max_queries = bound(3_000, 60_000)
    world = make_world(tmp_path, 9)
    fleet_nodes = [FleetNode(n.node_id, n.country, [n.index]) for n in world.nodes]
    breaker = BreakerSettings(
        failure_threshold=3, cooldown_s=1.0, probe_interval_s=0.2, probe_timeout_s=0.3
    )
    settings = fast_settings(timeout_s=5.0, breaker=breaker)
    tallies = [Tally() for _ in range(3)]
    with NodeFleet(fleet_nodes) as fleet:
        async with BlackholeProxy() as hole, CutProxy(fleet.nodes[CUT].port) as cut:
            peers = []
            for node in world.nodes:
                port = fleet.nodes[node.node_id].port
                port = {BLACKHOLED: hole.port, CUT: cut.port}.get(node.node_id, port)
                peers.append(peer_of(node.node_id, node.country, port))
            async with running_gateway(peers, settings=settings, timeout_ms=5000) as gw:
                stop = asyncio.Event()
                injector = asyncio.create_task(inject_faults(fleet, stop, figures))
                clients = [
                    asyncio.create_task(client_loop(gw, world, t, stop, i, max_queries // 3))
                    for i, t in enumerate(tallies)
                ]
                try:
                    await asyncio.wait(clients, timeout=duration_s)
                finally:
                    stop.set()
                    await asyncio.wait_for(asyncio.gather(*clients, injector), 30)
                # Faults over: every restarted or continued node is answering again.
                await asyncio.to_thread(fleet.wait_healthy, list(fleet.nodes.values()))
                recovered = await recovered_within(gw, world, 10.0)
            figures.faults_injected += cut.cuts + hole.connections
            figures.note(cut_responses=cut.cuts, blackholed_connections=hole.connections)

    tally = merge(tallies)
    figures.queries = tally.queries
    figures.within_deadline = tally.within_deadline
    figures.wrong_answers = len(tally.wrong)
    figures.hung = tally.late
    figures.note(
        deadline_ms=DEADLINE_S * 1000,
        slowest_answer_ms=round(tally.slowest_s * 1000, 1),
        client_errors=len(tally.errors),
        first_client_errors=tally.errors[:5],
        nodes=len(world.nodes),
    )
    assert tally.queries >= 50, "the client loop hardly ran"
    assert not tally.wrong, tally.wrong[:10]
    assert not tally.errors, tally.errors[:10]
    assert tally.late == 0
    assert tally.within_deadline == tally.queries
    # The faults happened and were reported as such.
    assert cut.cuts > 0
    assert hole.connections > 0
    assert OK not in tally.outcome_codes[BLACKHOLED]
    assert OK not in tally.outcome_codes[CUT]
    assert tally.outcome_codes[STALLED] - {OK}, "the stalled node never showed as failing"
    assert all(tally.outcome_codes[n] - {OK} for n in KILLABLE[:3]), tally.outcome_codes
    assert recovered, "healthy nodes did not all answer OK again within 10 s of the last fault"


async def recovered_within(gw: GatewayClient, world: World, timeout_s: float) -> bool:
    """Every node not behind a bad proxy answers OK again (breakers closed) in time."""
    expected_ok = {n.node_id for n in world.nodes} - {BLACKHOLED, CUT}
    request = allele_service_pb2.LookupVariantRequest(variant=to_variant(world.variants[0]))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = await gw.allele.LookupVariant(request, timeout=DEADLINE_S)
        ok = {o.node_id for o in response.outcomes if o.status.code == OK}
        if expected_ok <= ok:
            return True
        await asyncio.sleep(0.2)
    return False


def merge(tallies: list[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total.queries += t.queries
        total.within_deadline += t.within_deadline
        total.late += t.late
        total.errors += t.errors
        total.wrong += t.wrong
        total.slowest_s = max(total.slowest_s, t.slowest_s)
        for node, codes in t.outcome_codes.items():
            total.outcome_codes.setdefault(node, set()).update(codes)
    return total
