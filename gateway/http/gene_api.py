"""``GET /v1/genes/{symbol}``: every variant of a gene, paged, for the portal and the pages.

The gateway resolves the symbol (HGNC, any case; a previous symbol or alias too) to its
span in the requested assembly and searches that region over the mesh
(:mod:`gateway.genes`). The answer says how the symbol was resolved (``gene``), then one
result per variant in genomic order, shaped as a variant's answer (rows, pooled,
pooled populations and countries, ``lower_bound`` marks; :mod:`gateway.http.results_json`).
An unknown symbol, one several genes share, or a gene without coordinates in the
assembly is a 400 naming it (and the closest symbols, or the assembly).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from gateway.genes import GeneSearch
from gateway.http.beacon_query import parse_assembly
from gateway.http.convert import JsonObject, outcome_json
from gateway.http.numbers import ASCII_COUNT
from gateway.http.problems import PROBLEM_RESPONSES, bad_request
from gateway.http.results_json import variant_result_json
from gateway.http.settings import HttpSettings
from mesh.errors import InvalidArgumentError
from mesh.model.paging import MAX_PAGE_SIZE
from mesh.v1 import allele_pb2, gene_service_pb2

router = APIRouter(prefix="/v1", tags=["JSON API"], responses=PROBLEM_RESPONSES)

_MATCH_NAMES = {
    gene_service_pb2.GENE_MATCH_SYMBOL: "symbol",
    gene_service_pb2.GENE_MATCH_SYNONYM: "previous symbol or alias",
    gene_service_pb2.GENE_MATCH_FILE_NAME: "gene file name",
}


def _region_json(region: allele_pb2.Region) -> JsonObject:
    return {"chromosome": region.chromosome, "start": region.start, "end": region.end}


def gene_json(gene: gene_service_pb2.Gene) -> JsonObject:
    """How a query was resolved, and the span searched (1-based, inclusive)."""
    return {
        "query": gene.query,
        "symbol": gene.symbol,
        "match": _MATCH_NAMES.get(gene.match, "unknown"),
        "matched_name": gene.matched_name,
        "gene_id": gene.gene_id,
        "region": _region_json(gene.region),
        "other_loci": [_region_json(r) for r in gene.other_loci],
        "source": gene.source,
        "resolution": gene.resolution,
    }


@router.get("/genes/{symbol}", summary="Every variant of a gene, paged")
async def search_gene(
    request: Request,
    symbol: str,
    assembly: Annotated[
        str | None, Query(description="GRCh38 (default) or GRCh37; hg38/hg19 are accepted")
    ] = None,
    dataset: Annotated[list[str] | None, Query(description="dataset id (repeatable)")] = None,
    page_size: Annotated[
        int, Query(ge=0, le=MAX_PAGE_SIZE, description="variants per page; 0: 100"), ASCII_COUNT
    ] = 0,
    page_token: Annotated[str, Query(max_length=16_384)] = "",
) -> JsonObject:
    """The variants whose position lies in the gene's span, in genomic order, paged.

    ``PCSK9``, ``pcsk9`` and its previous symbol ``NARC1`` all find PCSK9; ``gene`` in
    the answer says how. Follow ``next_page_token`` for the next page.
    """
    settings: HttpSettings = request.app.state.settings
    genes: GeneSearch = request.app.state.genes
    chosen = parse_assembly(assembly, settings.default_assembly, "assembly")
    req = gene_service_pb2.SearchGeneRequest(
        assembly=chosen.to_proto(),
        gene=symbol,
        dataset_ids=dataset or [],
        page_size=page_size,
        page_token=page_token,
    )
    try:
        response = await genes.search_gene(req, timeout=settings.timeout_s)
    except InvalidArgumentError as error:
        if error.field != "gene":
            raise
        raise bad_request("symbol", error.message, error.reason) from None
    return {
        "assembly": chosen.value,
        "gene": gene_json(response.gene),
        "results": [
            variant_result_json(v.variant, v.frequencies, v.pooled, v.pooled_populations)
            for v in response.variants
        ],
        "next_page_token": response.next_page_token,
        "outcomes": [outcome_json(o) for o in response.outcomes],
    }
