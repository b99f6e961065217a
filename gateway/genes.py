"""Gene searches at the gateway: resolve the symbol, search its span, answer per variant.

The gateway resolves genes (:mod:`mesh.model.genes`); nodes only see a region search over
the gene's span. Region pages count dataset rows, and one variant's rows from several
countries are not adjacent (merged pages order by position, then node), so a gene page
gathers whole *positions*: it reads region pages until it holds ``page_size`` variants
and the next position starts, and resumes there (the region page's token plus the rows
of it already served, in one signed token). Each variant carries its dataset rows, the
counts pooled per country and over the mesh, by the federation's one pooling rule.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from mesh.errors import InvalidArgumentError
from mesh.federation import pool_countries, pool_frequencies, pool_populations
from mesh.model.genes import GeneCatalog, MatchKind, ResolvedGene, shipped_gene_catalog
from mesh.model.genome import Assembly
from mesh.model.paging import MAX_PAGE_SIZE, PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.model.variants import region_to_proto
from mesh.v1 import allele_pb2, allele_service_pb2, gene_service_pb2

#: Region rows asked per variant wanted (about one region call per gene page).
ROWS_PER_VARIANT = 4

_MATCH = {
    MatchKind.SYMBOL: gene_service_pb2.GENE_MATCH_SYMBOL,
    MatchKind.SYNONYM: gene_service_pb2.GENE_MATCH_SYNONYM,
    MatchKind.FILE_NAME: gene_service_pb2.GENE_MATCH_FILE_NAME,
}


class RegionSearch(Protocol):
    """What a gene search needs of the mesh: region pages."""

    async def search_region(
        self, req: allele_service_pb2.SearchRegionRequest, *, timeout: float | None
    ) -> allele_service_pb2.SearchRegionResponse:
        """One merged page of a region."""
        ...


def gene_to_proto(gene: ResolvedGene) -> gene_service_pb2.Gene:
    """The wire form of a resolution."""
    return gene_service_pb2.Gene(
        query=gene.query,
        symbol=gene.symbol,
        match=_MATCH[gene.match],
        matched_name=gene.matched_name,
        gene_id=gene.gene_id,
        assembly=gene.assembly.to_proto(),
        region=region_to_proto(gene.region),
        other_loci=[region_to_proto(r) for r in gene.other_loci],
        source=gene.source,
        resolution=gene.resolution,
    )


class GeneSearch:
    """``GeneService/SearchGene`` over a region search (the gateway's federation)."""

    def __init__(
        self,
        mesh: RegionSearch,
        catalog: GeneCatalog | None = None,
        *,
        tokens: PageTokenCodec | None = None,
        default_assembly: Assembly = Assembly.GRCH38,
        scope: allele_pb2.Scope = allele_pb2.SCOPE_MESH,
    ) -> None:
        self.mesh = mesh
        self._catalog = catalog
        self.tokens = tokens or PageTokenCodec()
        self.default_assembly = default_assembly
        self.scope = scope

    @property
    def catalog(self) -> GeneCatalog:
        """The gene catalog (the shipped one, read on first use, unless one was given)."""
        if self._catalog is None:
            self._catalog = shipped_gene_catalog()
        return self._catalog

    def resolve(self, query: str, assembly: Assembly, *, field: str = "gene") -> ResolvedGene:
        """The gene ``query`` names, in ``assembly`` (400 when it cannot be)."""
        return self.catalog.resolve(query, assembly, field=field)

    async def search_gene(
        self, req: gene_service_pb2.SearchGeneRequest, *, timeout: float | None
    ) -> gene_service_pb2.SearchGeneResponse:
        """One page of the gene's variants, in genomic order."""
        assembly = Assembly.from_proto(req.assembly, default=self.default_assembly)
        if not req.gene.strip():
            raise InvalidArgumentError(
                "gene", "gene is required (e.g. PCSK9)", reason="MISSING_FIELD"
            )
        gene = self.resolve(req.gene, assembly)
        page_size = page_size_or_default(req.page_size)
        fingerprint = query_fingerprint(
            "MeshSearchGene", assembly.value, str(gene.region), sorted(set(req.dataset_ids))
        )
        token, skip = "", 0
        if req.page_token:
            token, skip = _decode_state(self.tokens.decode(req.page_token, fingerprint))
        region_req = allele_service_pb2.SearchRegionRequest(
            assembly=assembly.to_proto(),
            region=region_to_proto(gene.region),
            dataset_ids=req.dataset_ids,
            page_size=min(MAX_PAGE_SIZE, page_size * ROWS_PER_VARIANT),
            scope=self.scope,
        )
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        response = gene_service_pb2.SearchGeneResponse(gene=gene_to_proto(gene))
        outcomes: dict[str, allele_pb2.NodeOutcome] = {}
        block: list[allele_pb2.VariantFrequency] = []
        served = 0
        while True:
            region_req.page_token = token
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            page = await self.mesh.search_region(region_req, timeout=remaining)
            _merge_outcomes(outcomes, page.outcomes)
            rows = page.frequencies
            for index in range(skip, len(rows)):
                row = rows[index]
                if block and _position(row) != _position(block[0]):
                    served += _serve(response, block)
                    block = []
                    if served >= page_size:
                        response.next_page_token = self._token(fingerprint, (token, index))
                        response.outcomes.extend(outcomes.values())
                        return response
                block.append(row)
            if not page.next_page_token:
                break
            token, skip = page.next_page_token, 0
        _serve(response, block)
        response.outcomes.extend(outcomes.values())
        return response

    def _token(self, fingerprint: bytes, at: tuple[str, int]) -> str:
        state = json.dumps(list(at), separators=(",", ":")).encode("utf-8")
        return self.tokens.encode(fingerprint, state)


def _decode_state(state: bytes) -> tuple[str, int]:
    try:
        token, skip = json.loads(state)
        return str(token), int(skip)
    except (ValueError, TypeError):
        raise InvalidArgumentError(
            "page_token", "page token state is unreadable", reason="INVALID_PAGE_TOKEN"
        ) from None


def _position(row: allele_pb2.VariantFrequency) -> tuple[str, int]:
    return row.variant.chromosome, row.variant.position


def _serve(
    response: gene_service_pb2.SearchGeneResponse, block: Sequence[allele_pb2.VariantFrequency]
) -> int:
    """Append one position's variants (alleles in (ref, alt) order); returns how many."""
    by_allele: dict[tuple[str, str], list[allele_pb2.VariantFrequency]] = defaultdict(list)
    for row in block:
        by_allele[(row.variant.reference_bases, row.variant.alternate_bases)].append(row)
    for _, rows in sorted(by_allele.items()):
        response.variants.append(gene_variant(rows))
    return len(by_allele)


def gene_variant(rows: Sequence[allele_pb2.VariantFrequency]) -> gene_service_pb2.GeneVariant:
    """One variant's dataset rows with per-country and mesh-wide pooled counts."""
    return gene_service_pb2.GeneVariant(
        variant=rows[0].variant,
        frequencies=rows,
        countries=[
            gene_service_pb2.CountryFrequency(country=country, counts=counts)
            for country, counts in pool_countries(rows)
        ],
        pooled=pool_frequencies(rows),
        pooled_populations=pool_populations(rows),
    )


def _merge_outcomes(
    into: dict[str, allele_pb2.NodeOutcome], outcomes: Sequence[allele_pb2.NodeOutcome]
) -> None:
    """One outcome per node over the page's region calls: a failure stays, rows add up."""
    for outcome in outcomes:
        known = into.get(outcome.node_id)
        if known is None:
            into[outcome.node_id] = allele_pb2.NodeOutcome()
            into[outcome.node_id].CopyFrom(outcome)
            continue
        count = known.frequency_count + outcome.frequency_count
        if known.status.code == 0 and outcome.status.code != 0:
            known.status.CopyFrom(outcome.status)
        known.latency_ms = max(known.latency_ms, outcome.latency_ms)
        known.frequency_count = count
