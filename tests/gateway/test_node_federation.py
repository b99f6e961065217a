"""Node-to-node federation: a node with peers answers SCOPE_MESH with the gateway's engine."""

from __future__ import annotations

import statistics
import time

import grpc

from mesh.federation import HOP_METADATA_KEY
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.gateway.conftest import Country
from tests.mesh_harness import (
    CallCounter,
    NodeSpec,
    free_port,
    node_process,
    peer_of,
    running_gateway,
    running_nodes,
)


def shared_variant(countries: list[Country]) -> tuple:
    return sorted(set.intersection(*(set(d) for c in countries for d in c.expected.values())))[0]


def full_mesh(countries: list[Country]) -> list[NodeSpec]:
    """Every node lists the two others as peers."""
    ports = {c.node_id: free_port() for c in countries}
    return [
        NodeSpec(
            c.node_id, c.country, c.indexes,
            peers=[peer_of(o.node_id, o.country, ports[o.node_id])
                   for o in countries if o is not c],
            listen=f"127.0.0.1:{ports[c.node_id]}",
        )
        for c in countries
    ]  # fmt: skip


async def test_full_mesh_scope_mesh_answers_every_country_without_loops(countries):
    chrom, pos, ref, alt = v = shared_variant(countries)
    request = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
        ),
        scope=allele_pb2.SCOPE_MESH,
    )
    expected = sorted(
        (c.node_id, d, counts[v][0], counts[v][1])
        for c in countries for d, counts in c.expected.items()
    )  # fmt: skip
    async with running_nodes(full_mesh(countries)) as nodes:
        counters = {node_id: CallCounter(node) for node_id, node in nodes.items()}
        async with grpc.aio.insecure_channel(f"127.0.0.1:{nodes['fi-hki'].port}") as channel:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            response = await stub.LookupVariant(request, timeout=5)
            assert [o.node_id for o in response.outcomes] == ["fi-hki", "no-oslo", "lu-lux"]
            assert all(o.status.code == 0 for o in response.outcomes)
            got = sorted(
                (f.node_id, f.dataset_id, f.counts.allele_count, f.counts.allele_number)
                for f in response.frequencies
            )
            assert got == expected
            assert response.pooled.allele_count == sum(e[2] for e in expected)
            # Each node was asked exactly once: forwarded requests were not fanned out again.
            assert {k: c.calls["lookup_variant"] for k, c in counters.items()} == {
                "no-oslo": 1, "fi-hki": 1, "lu-lux": 1
            }  # fmt: skip

            local = allele_service_pb2.LookupVariantRequest()
            local.CopyFrom(request)
            local.scope = allele_pb2.SCOPE_LOCAL
            response = await stub.LookupVariant(local, timeout=5)
            assert [o.node_id for o in response.outcomes] == ["fi-hki"]
            assert {f.country for f in response.frequencies} == {"FI"}

            # A request that already travelled a hop is answered locally, whatever its scope.
            response = await stub.LookupVariant(
                request, timeout=5, metadata=((HOP_METADATA_KEY, "1"),)
            )
            assert [o.node_id for o in response.outcomes] == ["fi-hki"]


async def test_node_scope_mesh_region_and_batch(countries):
    async with (
        running_nodes(full_mesh(countries)) as nodes,
        grpc.aio.insecure_channel(f"127.0.0.1:{nodes['lu-lux'].port}") as channel,
    ):
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        region = allele_pb2.Region(chromosome="2", start=100_000, end=103_000)
        seen, token = [], ""
        for _ in range(200):
            page = await stub.SearchRegion(
                allele_service_pb2.SearchRegionRequest(
                    region=region, page_size=9, page_token=token, scope=allele_pb2.SCOPE_MESH
                ),
                timeout=5,
            )
            seen += [(f.node_id, f.dataset_id, f.variant.position, f.variant.alternate_bases)
                         for f in page.frequencies]  # fmt: skip
            token = page.next_page_token
            if not token:
                break
        expected = sorted(
                (c.node_id, d, v[1], v[3])
                for c in countries for d, counts in c.expected.items() for v in counts
                if v[0] == "2"
            )  # fmt: skip
        assert sorted(seen) == expected
        v = shared_variant(countries)
        batch = await stub.BatchLookupVariants(
                allele_service_pb2.BatchLookupVariantsRequest(
                    variants=[allele_pb2.Variant(chromosome=v[0], position=v[1],
                                                 reference_bases=v[2], alternate_bases=v[3])],
                    scope=allele_pb2.SCOPE_MESH,
                ),
                timeout=5,
            )  # fmt: skip
        assert {f.country for f in batch.results[0].frequencies} == {"NO", "FI", "LU"}


async def test_gateway_over_node_processes(countries):
    """Nodes in their own processes; also measures the gateway's fan-out latency."""
    chrom, pos, ref, alt = shared_variant(countries)
    request = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
        )
    )
    no, fi, lu = countries
    with (
        node_process(no.indexes, no.node_id, no.country) as p1,
        node_process(fi.indexes, fi.node_id, fi.country) as p2,
        node_process(lu.indexes, lu.node_id, lu.country) as p3,
    ):
        peers = [peer_of(p.node_id, c.country, p.port) for p, c in ((p1, no), (p2, fi), (p3, lu))]
        async with running_gateway(peers) as gw:
            latencies = []
            for _ in range(50):
                started = time.perf_counter()
                response = await gw.allele.LookupVariant(request, timeout=5)
                latencies.append((time.perf_counter() - started) * 1000.0)
                assert [o.status.code for o in response.outcomes] == [0, 0, 0]
            assert {f.country for f in response.frequencies} == {"NO", "FI", "LU"}
    median = statistics.median(latencies)
    print(f"fan-out to 3 node processes: median {median:.2f} ms, max {max(latencies):.2f} ms")
    assert median < 100.0
