"""LookupVariant and BatchLookupVariants through a gateway over three real nodes."""

from __future__ import annotations

import random

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mesh.v1 import allele_pb2, allele_service_pb2
from tests.count_helpers import as_tuple, pool_tuples
from tests.gateway.conftest import Country
from tests.mesh_harness import CallCounter, VariantTuple, fast_settings, running_mesh

GRCH38 = allele_pb2.ASSEMBLY_GRCH38


def variant(v: VariantTuple) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=v[0], position=v[1], reference_bases=v[2], alternate_bases=v[3]
    )


def expected_rows(countries: list[Country], v: VariantTuple) -> dict[tuple[str, str, str], tuple]:
    """(node, country, dataset) -> counts, straight from the generated records."""
    return {
        (c.node_id, c.country, dataset_id): counts[v]
        for c in countries
        for dataset_id, counts in c.expected.items()
        if v in counts
    }


def rows_of(frequencies) -> dict[tuple[str, str, str], tuple]:
    return {(f.node_id, f.country, f.dataset_id): as_tuple(f.counts) for f in frequencies}


def check_pooled(pooled: allele_pb2.AlleleCounts, rows: dict) -> None:
    sums = pool_tuples(rows.values())
    assert as_tuple(pooled) == sums
    assert pooled.allele_frequency == pytest.approx(sums[0] / sums[1] if sums[1] else 0.0)
    assert pooled.precision == allele_pb2.COUNT_PRECISION_EXACT


def all_variants(countries: list[Country]) -> list[VariantTuple]:
    return sorted({v for c in countries for counts in c.expected.values() for v in counts})


async def test_lookup_pools_counts_of_every_dataset_of_three_countries(countries):
    variants = all_variants(countries)
    shared = [v for v in variants if len(expected_rows(countries, v)) == 4]
    assert shared, "the fixture shares alleles between countries"
    sample = shared[:10] + random.Random(3).sample(variants, 10)
    async with running_mesh([c.spec() for c in countries]) as mesh:
        for v in sample:
            request = allele_service_pb2.LookupVariantRequest(assembly=GRCH38, variant=variant(v))
            response = await mesh.allele.LookupVariant(request, timeout=5)
            expected = expected_rows(countries, v)
            assert rows_of(response.frequencies) == expected
            check_pooled(response.pooled, expected)
            assert [(o.node_id, o.country, o.status.code) for o in response.outcomes] == [
                ("no-oslo", "NO", 0), ("fi-hki", "FI", 0), ("lu-lux", "LU", 0)
            ]  # fmt: skip
            per_node = {o.node_id: o.frequency_count for o in response.outcomes}
            for c in countries:
                assert per_node[c.node_id] == sum(1 for key in expected if key[0] == c.node_id)


async def test_absent_variant_has_zero_pool_and_ok_outcomes(countries):
    async with running_mesh([c.spec() for c in countries]) as mesh:
        request = allele_service_pb2.LookupVariantRequest(
            variant=variant(("17", 7_000_000, "A", "G"))
        )
        response = await mesh.allele.LookupVariant(request, timeout=5)
    assert not response.frequencies
    assert response.pooled.allele_number == 0
    assert response.pooled.allele_frequency == 0.0
    assert len(response.outcomes) == 3


async def test_bad_variant_is_invalid_argument_and_never_fanned_out(countries):
    async with running_mesh([c.spec() for c in countries]) as mesh:
        counters = [CallCounter(node) for node in mesh.nodes.values()]
        request = allele_service_pb2.LookupVariantRequest(
            variant=allele_pb2.Variant(
                chromosome="1", position=0, reference_bases="A", alternate_bases="G"
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await mesh.allele.LookupVariant(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        status = rpc_status.from_call(caught.value)
        bad = error_details_pb2.BadRequest()
        assert any(d.Unpack(bad) for d in status.details)
        assert bad.field_violations[0].field == "variant.position"
        assert all(sum(c.calls.values()) == 0 for c in counters)


@pytest.mark.parametrize("chunk_size", [10_000, 7])
async def test_batch_is_one_rpc_per_node_per_chunk_in_request_order(countries, chunk_size):
    variants = all_variants(countries)
    rng = random.Random(5)
    asked = [*rng.sample(variants, 40), ("17", 7000000, "A", "G")]
    rng.shuffle(asked)
    settings = fast_settings(chunk_size=chunk_size)
    async with running_mesh([c.spec() for c in countries], settings=settings) as mesh:
        counters = {node_id: CallCounter(node) for node_id, node in mesh.nodes.items()}
        request = allele_service_pb2.BatchLookupVariantsRequest(
            assembly=GRCH38, variants=[variant(v) for v in asked]
        )
        response = await mesh.allele.BatchLookupVariants(request, timeout=5)
    chunks = -(-len(asked) // chunk_size)
    for counter in counters.values():
        assert counter.calls == {"batch_lookup": chunks}
    assert len(response.results) == len(asked)
    for v, result in zip(asked, response.results, strict=True):
        assert (result.variant.chromosome, result.variant.position) == (v[0], v[1])
        assert (result.variant.reference_bases, result.variant.alternate_bases) == (v[2], v[3])
        expected = expected_rows(countries, v)
        assert rows_of(result.frequencies) == expected
        check_pooled(result.pooled, expected)
    assert [o.status.code for o in response.outcomes] == [0, 0, 0]
    total = sum(len(r.frequencies) for r in response.results)
    assert sum(o.frequency_count for o in response.outcomes) == total


async def test_bad_batch_variant_names_its_index(countries):
    async with running_mesh([c.spec() for c in countries]) as mesh:
        request = allele_service_pb2.BatchLookupVariantsRequest(
            variants=[
                variant(("1", 100_000, "A", "G")),
                allele_pb2.Variant(
                    chromosome="1", position=5, reference_bases="A", alternate_bases="<DEL>"
                ),
            ]
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await mesh.allele.BatchLookupVariants(request, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in rpc_status.from_call(caught.value).details)
    assert bad.field_violations[0].field == "variants[1].alternate_bases"
