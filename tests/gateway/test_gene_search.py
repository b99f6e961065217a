"""GeneService/SearchGene on a real mesh: the gene's variants, pooled, paged; clear refusals.

Expected variants and counts come from the records tests.gene_world writes and the span
from its csv reading of the shipped table.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from mesh.model.genome import Assembly
from mesh.v1 import allele_pb2, gene_service_pb2, gene_service_pb2_grpc
from tests.count_helpers import as_tuple
from tests.gene_world import GRCH37_SPAN, GeneWorld, make_gene_world
from tests.mesh_harness import running_mesh


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> GeneWorld:
    return make_gene_world(tmp_path_factory.mktemp("genes"))


def _key(v: allele_pb2.Variant) -> tuple[str, int, str, str]:
    return (v.chromosome, v.position, v.reference_bases, v.alternate_bases)


async def page_through(stub, gene: str, page_size: int, assembly=allele_pb2.ASSEMBLY_GRCH38):
    variants, pages, token = [], [], ""
    for _ in range(1000):  # bounded: a broken token chain must not loop forever
        request = gene_service_pb2.SearchGeneRequest(
            assembly=assembly, gene=gene, page_size=page_size, page_token=token
        )
        response = await stub.SearchGene(request, timeout=10)
        pages.append(response)
        variants.extend(response.variants)
        token = response.next_page_token
        if not token:
            return variants, pages
    raise AssertionError("paging did not end")


def check_variants(world: GeneWorld, variants) -> None:
    """Every variant of the span once, in order, with rows, per-country and pooled sums."""
    assert [_key(v.variant) for v in variants] == world.in_span()
    for item in variants:
        key = _key(item.variant)
        rows = {(f.node_id, f.dataset_id): as_tuple(f.counts) for f in item.frequencies}
        assert rows == world.rows[key]
        assert as_tuple(item.pooled) == world.pooled(key)
        if item.pooled.allele_number:
            assert item.pooled.allele_frequency == pytest.approx(
                world.pooled(key)[0] / world.pooled(key)[1]
            )
        assert {c.country: as_tuple(c.counts) for c in item.countries} == world.per_country(key)


async def test_a_gene_answers_every_variant_of_its_span_pooled_in_any_page_size(world):
    async with running_mesh(world.specs) as mesh:
        stub = gene_service_pb2_grpc.GeneServiceStub(mesh.client.channel)
        whole, pages = await page_through(stub, "pcsk9", 1000)
        assert len(pages) == 1
        assert len(world.in_span()) > 60
        # Some positions hold several alleles (rows of several nodes, not adjacent).
        assert len({v[1] for v in world.in_span()}) < len(world.in_span())
        # Positions just outside the span are in the datasets but not in the answer.
        _, start, end = world.span
        assert any(v[1] == start - 1 for v in world.rows)
        assert any(v[1] == end + 1 for v in world.rows)
        check_variants(world, whole)
        gene = pages[0].gene
        assert (gene.symbol, gene.match) == ("PCSK9", gene_service_pb2.GENE_MATCH_SYMBOL)
        assert (gene.region.chromosome, gene.region.start, gene.region.end) == world.span
        assert "org.Hs.eg.db" in gene.source
        assert {o.node_id for o in pages[0].outcomes} == {"no-oslo", "fi-hki", "lu-lux"}
        assert all(o.status.code == 0 for o in pages[0].outcomes)
        for page_size in (1, 3, 10):
            variants, pages = await page_through(stub, "PCSK9", page_size)
            check_variants(world, variants)
            for page in pages[:-1]:
                # Whole positions: at least page_size variants, the excess from one position.
                assert len(page.variants) >= page_size
                last = page.variants[-1].variant.position
                assert len(page.variants) - page_size < sum(
                    1 for v in page.variants if v.variant.position == last
                )


async def test_aliases_resolve_with_the_resolution_in_the_answer(world):
    async with running_mesh(world.specs) as mesh:
        stub = gene_service_pb2_grpc.GeneServiceStub(mesh.client.channel)
        variants, pages = await page_through(stub, "NARC1", 1000)
        gene = pages[0].gene
        assert (gene.query, gene.symbol, gene.matched_name) == ("NARC1", "PCSK9", "NARC1")
        assert gene.match == gene_service_pb2.GENE_MATCH_SYNONYM
        assert gene.resolution.startswith("NARC1 is a previous symbol or alias of PCSK9")
        check_variants(world, variants)


async def test_unknown_and_wrong_assembly_genes_are_invalid_argument(world):
    async with running_mesh(world.specs) as mesh:
        stub = gene_service_pb2_grpc.GeneServiceStub(mesh.client.channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SearchGene(gene_service_pb2.SearchGeneRequest(gene="PCKS9"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "PCKS9" in caught.value.details()
        assert "closest symbols: PCSK9" in caught.value.details()
        request = gene_service_pb2.SearchGeneRequest(
            gene="PCSK9", assembly=allele_pb2.ASSEMBLY_GRCH37
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SearchGene(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "PCSK9" in caught.value.details()
        assert "GRCh37" in caught.value.details()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SearchGene(gene_service_pb2.SearchGeneRequest(gene=""), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_page_token_is_bound_to_its_gene(world):
    async with running_mesh(world.specs) as mesh:
        stub = gene_service_pb2_grpc.GeneServiceStub(mesh.client.channel)
        first = await stub.SearchGene(
            gene_service_pb2.SearchGeneRequest(gene="PCSK9", page_size=2), timeout=5
        )
        assert first.next_page_token
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SearchGene(
                gene_service_pb2.SearchGeneRequest(
                    gene="BRCA1", page_size=2, page_token=first.next_page_token
                ),
                timeout=5,
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_grch37_gene_file_gives_the_grch37_span(world):
    assert world.grch37_gtf is not None
    genes: dict[Assembly, Path] = {Assembly.GRCH37: world.grch37_gtf}
    async with running_mesh(world.specs, genes=genes) as mesh:
        stub = gene_service_pb2_grpc.GeneServiceStub(mesh.client.channel)
        variants, pages = await page_through(
            stub, "Pcsk9", 100, assembly=allele_pb2.ASSEMBLY_GRCH37
        )
        gene = pages[0].gene
        assert (gene.region.chromosome, gene.region.start, gene.region.end) == GRCH37_SPAN
        assert gene.assembly == allele_pb2.ASSEMBLY_GRCH37
        assert world.grch37_gtf.name in gene.source
        expected = world.in_span(world.grch37_rows, GRCH37_SPAN)
        assert len(expected) == 2
        assert [_key(v.variant) for v in variants] == expected
        for item in variants:
            rows = {(f.node_id, f.dataset_id): as_tuple(f.counts) for f in item.frequencies}
            assert rows == world.grch37_rows[_key(item.variant)]
