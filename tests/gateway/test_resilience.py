"""Slow, dead, failing and flapping nodes: each becomes an outcome, never a failed call."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_status import rpc_status

from mesh.federation import BreakerSettings, HedgeSettings
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.serve.server import start_node
from tests.gateway.conftest import Country
from tests.mesh_harness import (
    NodeSpec,
    fast_settings,
    free_port,
    node_process,
    peer_of,
    running_gateway,
    running_nodes,
)
from tests.misbehaving_peers import DelayProxy, failing_server

OK = grpc.StatusCode.OK.value[0]
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]
DEADLINE = grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
INTERNAL = grpc.StatusCode.INTERNAL.value[0]


def any_shared_variant(countries: list[Country]) -> allele_pb2.Variant:
    common = set.intersection(*(set(d) for c in countries for d in c.expected.values()))
    chrom, pos, ref, alt = sorted(common)[0]
    return allele_pb2.Variant(
        chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
    )


def lookup_request(countries: list[Country]) -> allele_service_pb2.LookupVariantRequest:
    return allele_service_pb2.LookupVariantRequest(variant=any_shared_variant(countries))


def codes(response) -> dict[str, int]:
    return {o.node_id: o.status.code for o in response.outcomes}


async def test_slow_node_is_deadline_exceeded_and_answer_beats_caller_deadline(countries):
    no, fi, lu = countries
    async with (
        running_nodes([no.spec(), fi.spec(), lu.spec()]) as nodes,
        DelayProxy(nodes["lu-lux"].port, delay_s=3.0) as proxy,
    ):
        peers = [
            peer_of("no-oslo", "NO", nodes["no-oslo"].port),
            peer_of("fi-hki", "FI", nodes["fi-hki"].port),
            peer_of("lu-lux", "LU", proxy.port),
        ]
        async with running_gateway(peers, settings=fast_settings(timeout_s=5.0)) as gw:
            started = time.perf_counter()
            response = await gw.allele.LookupVariant(lookup_request(countries), timeout=1.0)
            elapsed = time.perf_counter() - started
    assert elapsed < 1.0  # answered before the caller's deadline (margin kept)
    assert elapsed > 0.7, response.outcomes  # ...and the slow node was given most of it
    assert codes(response) == {"no-oslo": OK, "fi-hki": OK, "lu-lux": DEADLINE}
    assert {f.country for f in response.frequencies} == {"NO", "FI"}


async def test_peer_timeout_ms_bounds_a_slow_node(countries):
    no, _, lu = countries
    async with (
        running_nodes([no.spec(), lu.spec()]) as nodes,
        DelayProxy(nodes["lu-lux"].port, delay_s=3.0) as proxy,
    ):
        peers = [
            peer_of("no-oslo", "NO", nodes["no-oslo"].port),
            peer_of("lu-lux", "LU", proxy.port, timeout_ms=300),
        ]
        async with running_gateway(peers) as gw:
            started = time.perf_counter()
            response = await gw.allele.LookupVariant(lookup_request(countries), timeout=5.0)
            elapsed = time.perf_counter() - started
    assert elapsed < 0.6
    assert codes(response) == {"no-oslo": OK, "lu-lux": DEADLINE}


async def test_node_that_errors_is_an_outcome_with_its_status(countries):
    no = countries[0]
    async with running_nodes([no.spec()]) as nodes, failing_server(message="disk on fire") as bad:
        peers = [peer_of("no-oslo", "NO", nodes["no-oslo"].port), peer_of("xx-bad", "SE", bad)]
        async with running_gateway(peers) as gw:
            response = await gw.allele.LookupVariant(lookup_request(countries), timeout=5)
    assert codes(response) == {"no-oslo": OK, "xx-bad": INTERNAL}
    bad_outcome = response.outcomes[1]
    assert (bad_outcome.country, bad_outcome.status.message) == ("SE", "disk on fire")
    assert response.pooled.allele_number > 0


async def test_every_node_down_is_unavailable_with_outcomes_in_details(countries):
    async with failing_server() as bad:
        peers = [
            peer_of("dead-1", "NO", free_port()),
            peer_of("dead-2", "FI", free_port()),
            peer_of("broken", "LU", bad),
        ]
        async with running_gateway(peers) as gw:
            started = time.perf_counter()
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await gw.allele.LookupVariant(lookup_request(countries), timeout=5)
            elapsed = time.perf_counter() - started
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert elapsed < 2.0
    outcomes = []
    for detail in rpc_status.from_call(caught.value).details:
        outcome = allele_pb2.NodeOutcome()
        if detail.Unpack(outcome):
            outcomes.append((outcome.node_id, outcome.country, outcome.status.code))
    assert outcomes == [("dead-1", "NO", UNAVAILABLE), ("dead-2", "FI", UNAVAILABLE),
                        ("broken", "LU", INTERNAL)]  # fmt: skip


async def test_node_process_killed_mid_flight(countries):
    no, _, lu = countries
    async with running_nodes([no.spec()]) as nodes:
        with node_process(lu.indexes, "lu-lux", "LU") as lu_process:
            async with DelayProxy(lu_process.port, delay_s=3.0) as proxy:
                peers = [
                    peer_of("no-oslo", "NO", nodes["no-oslo"].port),
                    peer_of("lu-lux", "LU", proxy.port),
                ]
                async with running_gateway(peers, settings=fast_settings(timeout_s=5.0)) as gw:
                    call = asyncio.ensure_future(
                        gw.allele.LookupVariant(lookup_request(countries), timeout=10)
                    )
                    await asyncio.sleep(0.3)
                    assert not call.done()
                    started = time.perf_counter()
                    lu_process.kill()
                    response = await asyncio.wait_for(call, 5)
                    after_kill = time.perf_counter() - started
    assert after_kill < 1.0
    assert codes(response) == {"no-oslo": OK, "lu-lux": UNAVAILABLE}


async def test_circuit_breaker_opens_then_health_probes_close_it(countries):
    no, fi, _ = countries
    fi_port = free_port()
    fi_spec = NodeSpec(fi.node_id, fi.country, fi.indexes, listen=f"127.0.0.1:{fi_port}")
    settings = fast_settings(
        breaker=BreakerSettings(
            failure_threshold=2, cooldown_s=0.3, probe_interval_s=0.1, probe_timeout_s=0.5
        )
    )
    async with running_nodes([no.spec()]) as nodes:
        fi_node = await start_node(fi_spec.config(), insecure=True)
        try:
            peers = [
                peer_of("no-oslo", "NO", nodes["no-oslo"].port),
                peer_of("fi-hki", "FI", fi_port),
            ]
            async with running_gateway(peers, settings=settings) as gw:
                request = lookup_request(countries)
                assert codes(await gw.allele.LookupVariant(request, timeout=5))["fi-hki"] == OK
                await fi_node.stop(0)
                for _ in range(2):
                    response = await gw.allele.LookupVariant(request, timeout=5)
                    assert codes(response)["fi-hki"] == UNAVAILABLE
                response = await gw.allele.LookupVariant(request, timeout=5)
                fi_outcome = response.outcomes[1]
                assert (fi_outcome.status.code, fi_outcome.status.message) == (
                    UNAVAILABLE, "circuit open"
                )  # fmt: skip
                breaker = gw.gateway.backend.peers[1].breaker
                assert breaker.is_open
                assert breaker.times_opened == 1

                fi_node = await start_node(fi_spec.config(), insecure=True)
                deadline = time.monotonic() + 8.0
                while breaker.is_open and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert not breaker.is_open, "health probes should close the breaker"
                response = await gw.allele.LookupVariant(request, timeout=5)
                assert codes(response) == {"no-oslo": OK, "fi-hki": OK}
                assert breaker.times_opened == 1
        finally:
            await fi_node.stop(0)


async def test_hedging_to_a_second_replica_when_the_first_is_slow(countries):
    fi = countries[1]
    settings = fast_settings(hedge=HedgeSettings(floor_s=0.05), timeout_s=5.0)
    async with running_nodes([fi.spec()]) as nodes:
        port = nodes["fi-hki"].port
        async with DelayProxy(port, delay_s=2.0) as slow:
            # The slow replica is listed first, so the first call goes to it.
            peers = [peer_of("fi-hki", "FI", slow.port, port)]
            async with running_gateway(peers, settings=settings) as gw:
                peer = gw.gateway.backend.peers[0]
                assert peer.hedges >= 1  # the start-up catalogue fetch was hedged already
                for _ in range(5):
                    started = time.perf_counter()
                    response = await gw.allele.LookupVariant(lookup_request(countries), timeout=5)
                    assert time.perf_counter() - started < 0.5
                    assert codes(response) == {"fi-hki": OK}
                    assert response.frequencies
