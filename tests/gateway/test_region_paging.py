"""SearchRegion merged across nodes: genomic order, every variant exactly once, any page size."""

from __future__ import annotations

import grpc
import pytest

from mesh.model.genome import CONTIG_CODES
from mesh.v1 import allele_pb2, allele_service_pb2
from tests.count_helpers import as_tuple
from tests.gateway.conftest import Country
from tests.mesh_harness import peer_of, running_gateway, running_mesh, running_nodes
from tests.misbehaving_peers import failing_server

REGION = allele_pb2.Region(chromosome="1", start=100_500, end=102_500)
RANK = {"no-oslo": 0, "fi-hki": 1, "lu-lux": 2}


def expected_items(countries: list[Country], region: allele_pb2.Region) -> dict[tuple, tuple]:
    """(node, dataset, variant) -> counts for every allele in the region, from the records."""
    items = {}
    for c in countries:
        for dataset_id, counts in c.expected.items():
            for v, value in counts.items():
                if v[0] == region.chromosome and region.start <= v[1] <= region.end:
                    items[(c.node_id, dataset_id, v)] = value
    return items


def item_of(f: allele_pb2.VariantFrequency) -> tuple:
    v = f.variant
    key = (v.chromosome, v.position, v.reference_bases, v.alternate_bases)
    return (f.node_id, f.dataset_id, key)


async def page_through(stub, page_size: int, region=REGION, limit: int = 2000):
    items, token = [], ""
    for pages in range(1, limit + 1):  # bounded: a broken token chain must not loop forever
        request = allele_service_pb2.SearchRegionRequest(
            region=region, page_size=page_size, page_token=token
        )
        response = await stub.SearchRegion(request, timeout=5)
        items.extend(response.frequencies)
        token = response.next_page_token
        if not token:
            return items, pages
    raise AssertionError("paging did not end")


async def test_paging_returns_every_variant_once_in_genomic_order(countries):
    expected = expected_items(countries, REGION)
    assert len({k[2] for k in expected}) > 40
    async with running_mesh([c.spec() for c in countries]) as mesh:
        whole, pages = await page_through(mesh.allele, 1000)
        assert pages == 1
        for page_size in (1, 2, 3, 7, 50):
            items, pages = await page_through(mesh.allele, page_size)
            # The same sequence as one big page, whatever the page size...
            assert [item_of(f) for f in items] == [item_of(f) for f in whole]
            assert pages >= len(items) // page_size
    # ...which is exactly the independent expectation, each item once, with its counts,
    keys = [item_of(f) for f in whole]
    assert len(keys) == len(set(keys))
    got = {item_of(f): as_tuple(f.counts) for f in whole}
    assert got == expected
    # ...in genomic order, ties between nodes in node order.
    order = [
        (CONTIG_CODES[f.variant.chromosome], f.variant.position, RANK[f.node_id]) for f in whole
    ]
    assert order == sorted(order)


async def test_page_token_is_bound_to_its_query(countries):
    async with running_mesh([c.spec() for c in countries]) as mesh:
        first = await mesh.allele.SearchRegion(
            allele_service_pb2.SearchRegionRequest(region=REGION, page_size=5), timeout=5
        )
        assert first.next_page_token
        other = allele_pb2.Region(chromosome="1", start=100_000, end=102_500)
        for region, token in (
            (other, first.next_page_token),
            (REGION, first.next_page_token[:-2] + "AA"),
        ):
            request = allele_service_pb2.SearchRegionRequest(region=region, page_token=token)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await mesh.allele.SearchRegion(request, timeout=5)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_bad_region_is_invalid_argument(countries):
    async with running_mesh([countries[0].spec()]) as mesh:
        request = allele_service_pb2.SearchRegionRequest(
            region=allele_pb2.Region(chromosome="1", start=500, end=100)
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await mesh.allele.SearchRegion(request, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_node_failing_on_first_page_is_reported_on_every_page(countries):
    no = countries[0]
    expected = expected_items([no], REGION)
    async with running_nodes([no.spec()]) as nodes, failing_server() as bad:
        peers = [peer_of("no-oslo", "NO", nodes["no-oslo"].port), peer_of("xx-bad", "SE", bad)]
        async with running_gateway(peers) as gw:
            token, items, outcome_codes = "", [], []
            for _ in range(100):
                request = allele_service_pb2.SearchRegionRequest(
                    region=REGION, page_size=20, page_token=token
                )
                response = await gw.allele.SearchRegion(request, timeout=5)
                items.extend(item_of(f) for f in response.frequencies)
                outcome_codes.append({o.node_id: o.status.code for o in response.outcomes})
                token = response.next_page_token
                if not token:
                    break
    assert sorted(items) == sorted(expected)
    assert outcome_codes[0] == {"no-oslo": 0, "xx-bad": grpc.StatusCode.INTERNAL.value[0]}
    assert all(
        c == {"no-oslo": 0, "xx-bad": grpc.StatusCode.ABORTED.value[0]} for c in outcome_codes[1:]
    )
