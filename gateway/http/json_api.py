"""The plain JSON API for the portal backend, under ``/v1``.

Answers carry what the gRPC answers carry (see :mod:`gateway.http.convert`), node
outcomes included, so the portal can show which countries answered; a variant's
answer adds per-country pooled rows and the ``lower_bound`` marks
(:mod:`gateway.http.results_json`):

* ``GET  /v1/variants/{variant}``  one variant in any notation the parser reads
* ``POST /v1/variants:batch``      up to 10,000 variants, answers in request order
* ``GET  /v1/regions/{region}``    ``chrom:start-end`` (1-based, inclusive), paged
* ``GET  /v1/rsids/{rsid}``        every variant a dbSNP rsID names (the datasets' VCF ID)
* ``GET  /v1/datasets``            the catalogue, ``?assembly=&country=``
* ``GET  /v1/datasets/{id}``       one dataset
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.http.backend import LookupBackend
from gateway.http.beacon_query import parse_assembly
from gateway.http.convert import (
    JsonObject,
    dataset_json,
    frequency_json,
    outcome_json,
)
from gateway.http.numbers import ASCII_COUNT
from gateway.http.problems import PROBLEM_RESPONSES, bad_request
from gateway.http.results_json import variant_result_json
from gateway.http.settings import HttpSettings
from mesh.errors import InvalidArgumentError
from mesh.model.genome import Assembly
from mesh.model.notation import ACCEPTED_REGION_NOTATIONS, parse_region, parse_variant
from mesh.model.paging import MAX_PAGE_SIZE
from mesh.model.variant_ids import parse_variant_id
from mesh.model.variants import region_to_proto, variant_to_proto
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2

router = APIRouter(prefix="/v1", tags=["JSON API"], responses=PROBLEM_RESPONSES)

_ASSEMBLY_HELP = "GRCh38 (default) or GRCh37; hg38/hg19 are accepted"


def _backend(request: Request) -> LookupBackend:
    backend: LookupBackend = request.app.state.backend
    return backend


def _settings(request: Request) -> HttpSettings:
    settings: HttpSettings = request.app.state.settings
    return settings


def _assembly(request: Request, text: str | None) -> Assembly:
    return parse_assembly(text, _settings(request).default_assembly, "assembly")


class BatchRequest(BaseModel):
    """Body of ``POST /v1/variants:batch``."""

    assembly: str | None = Field(None, description=_ASSEMBLY_HELP)
    variants: list[str] = Field(description="variants in any accepted notation; at most 10,000")
    datasets: list[str] = Field(default_factory=list, description="dataset ids; empty: all")
    populations: list[str] = Field(default_factory=list, description="population labels")


@router.get("/variants/{variant}", summary="Allele frequencies of one variant")
async def get_variant(
    request: Request,
    variant: str,
    assembly: Annotated[str | None, Query(description=_ASSEMBLY_HELP)] = None,
    dataset: Annotated[list[str] | None, Query(description="dataset id (repeatable)")] = None,
    population: Annotated[list[str] | None, Query(description="population (repeatable)")] = None,
) -> JsonObject:
    """Counts of one variant in every dataset that holds it, with node outcomes.

    Any notation: ``1-55051215-G-GA``, ``chr1:55051215:G:GA``, SPDI, HGVS.
    """
    settings = _settings(request)
    chosen = _assembly(request, assembly)
    reference = settings.references.get(chosen)
    key = parse_variant(variant, chosen, reference=reference, field="variant")
    req = allele_service_pb2.LookupVariantRequest(
        assembly=chosen.to_proto(),
        variant=variant_to_proto(key),
        dataset_ids=dataset or [],
        populations=population or [],
        scope=settings.scope,
    )
    response = await _backend(request).lookup_variant(req, timeout=settings.timeout_s)
    result = variant_result_json(
        req.variant, response.frequencies, response.pooled, response.pooled_populations
    )
    return {
        "assembly": chosen.value,
        **result,
        "outcomes": [outcome_json(o) for o in response.outcomes],
    }


@router.get("/rsids/{rsid}", summary="Allele frequencies of every variant an rsID names")
async def get_rsid(
    request: Request,
    rsid: str,
    assembly: Annotated[str | None, Query(description=_ASSEMBLY_HELP)] = None,
    dataset: Annotated[list[str] | None, Query(description="dataset id (repeatable)")] = None,
    population: Annotated[list[str] | None, Query(description="population (repeatable)")] = None,
) -> JsonObject:
    """One result per variant the datasets record under ``rsid`` (``rs11591147``).

    Each node resolves the id over its datasets' VCF ID columns; every variant found is
    then looked up in every dataset. ``results`` is empty when no dataset records it; a
    dataset indexed before rsIDs were kept is named in its node's outcome ("rebuild").
    """
    settings = _settings(request)
    chosen = _assembly(request, assembly)
    req = allele_service_pb2.LookupVariantIdRequest(
        assembly=chosen.to_proto(),
        variant_id=parse_variant_id(rsid, "rsid"),
        dataset_ids=dataset or [],
        populations=population or [],
        scope=settings.scope,
    )
    response = await _backend(request).lookup_variant_id(req, timeout=settings.timeout_s)
    return {
        "assembly": chosen.value,
        "variant_id": response.variant_id or req.variant_id,
        "results": [
            variant_result_json(r.variant, r.frequencies, r.pooled, r.pooled_populations)
            for r in response.results
        ],
        "outcomes": [outcome_json(o) for o in response.outcomes],
    }


@router.post("/variants:batch", summary="Allele frequencies of up to 10,000 variants")
async def batch_variants(request: Request, body: BatchRequest) -> JsonObject:
    """One result per requested variant, in request order.

    A bad variant fails the batch with a 400 naming it (``variants[3]``).
    """
    settings = _settings(request)
    if len(body.variants) > settings.max_batch_variants:
        raise bad_request(
            "variants",
            f"a batch holds at most {settings.max_batch_variants} variants (got "
            f"{len(body.variants)}); split it into several calls",
            reason="BATCH_TOO_LARGE",
        )
    if not body.variants:
        raise bad_request("variants", "variants is empty: give at least one", "MISSING_FIELD")
    chosen = _assembly(request, body.assembly)
    reference = settings.references.get(chosen)
    keys = [
        parse_variant(text, chosen, reference=reference, field=f"variants[{i}]")
        for i, text in enumerate(body.variants)
    ]
    req = allele_service_pb2.BatchLookupVariantsRequest(
        assembly=chosen.to_proto(),
        variants=[variant_to_proto(k) for k in keys],
        dataset_ids=body.datasets,
        populations=body.populations,
        scope=settings.scope,
    )
    response = await _backend(request).batch_lookup_variants(req, timeout=settings.timeout_s)
    results: list[JsonObject] = []
    for text, result in zip(body.variants, response.results, strict=False):
        results.append(
            {
                "query": text,
                **variant_result_json(
                    result.variant, result.frequencies, result.pooled, result.pooled_populations
                ),
            }
        )
    return {
        "assembly": chosen.value,
        "results": results,
        "outcomes": [outcome_json(o) for o in response.outcomes],
    }


@router.get("/regions/{region}", summary="Every allele in a region, paged")
async def search_region(
    request: Request,
    region: str,
    assembly: Annotated[str | None, Query(description=_ASSEMBLY_HELP)] = None,
    dataset: Annotated[list[str] | None, Query(description="dataset id (repeatable)")] = None,
    page_size: Annotated[int, Query(ge=0, le=MAX_PAGE_SIZE, description="0: 100"), ASCII_COUNT] = 0,
    page_token: Annotated[str, Query(max_length=16_384)] = "",
) -> JsonObject:
    """Alleles whose position lies in a region, in genomic order, paged.

    The region is ``chrom:start-end``, 1-based and inclusive (``1:55051000-55052000``);
    follow ``next_page_token`` for the next page.
    """
    settings = _settings(request)
    chosen = _assembly(request, assembly)
    try:
        key = parse_region(region, chosen, max_span=settings.max_region_span, field="region")
    except InvalidArgumentError as error:
        detail = error.message
        if error.reason == "UNPARSEABLE_REGION":
            detail = f"{error.message}; accepted: {ACCEPTED_REGION_NOTATIONS}"
        raise bad_request("region", detail, error.reason) from None
    req = allele_service_pb2.SearchRegionRequest(
        assembly=chosen.to_proto(),
        region=region_to_proto(key),
        dataset_ids=dataset or [],
        page_size=page_size,
        page_token=page_token,
        scope=settings.scope,
    )
    response = await _backend(request).search_region(req, timeout=settings.timeout_s)
    return {
        "assembly": chosen.value,
        "region": {"chromosome": key.chromosome, "start": key.start, "end": key.end},
        "frequencies": [frequency_json(f) for f in response.frequencies],
        "next_page_token": response.next_page_token,
        "outcomes": [outcome_json(o) for o in response.outcomes],
    }


@router.get("/datasets", summary="The dataset catalogue")
async def list_datasets(
    request: Request,
    assembly: Annotated[str | None, Query(description="only this assembly")] = None,
    country: Annotated[
        str | None, Query(pattern="^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")
    ] = None,
) -> JsonObject:
    """Every dataset of every node that answered, optionally one assembly or country."""
    settings = _settings(request)
    chosen = parse_assembly(assembly, settings.default_assembly, "assembly") if assembly else None
    datasets: list[Any] = []
    outcomes: list[JsonObject] = []
    token = ""
    while True:
        req = catalog_service_pb2.ListDatasetsRequest(
            assembly=chosen.to_proto() if chosen else allele_pb2.ASSEMBLY_UNSPECIFIED,
            page_size=MAX_PAGE_SIZE,
            page_token=token,
            scope=settings.scope,
        )
        response = await _backend(request).list_datasets(req, timeout=settings.timeout_s)
        datasets.extend(response.datasets)
        outcomes.extend(outcome_json(o) for o in response.outcomes)
        token = response.next_page_token
        if not token:
            break
    if country:
        datasets = [d for d in datasets if d.country.upper() == country.upper()]
    return {"datasets": await _with_fdp(request, datasets), "outcomes": outcomes}


async def _with_fdp(request: Request, datasets: list[Any]) -> list[JsonObject]:
    """Each dataset's JSON, with its FAIR Data Point resource or why it has none."""
    publisher = getattr(request.app.state, "fdp", None)
    snapshot = await publisher.snapshot() if publisher is not None else None
    out = []
    for dataset in datasets:
        item = dataset_json(dataset)
        if snapshot is not None:
            if snapshot.dataset(dataset.id) is not None:
                item["fdp_path"] = f"/fdp/dataset/{quote(dataset.id, safe='')}"
            elif dataset.id in snapshot.unpublished:
                problems = snapshot.unpublished[dataset.id][1]
                item["fdp_problems"] = [str(p) for p in problems]
        out.append(item)
    return out


@router.get("/datasets/{dataset_id}", summary="One dataset")
async def get_dataset(request: Request, dataset_id: str) -> JsonObject:
    """One dataset's catalogue entry; 404 problem when no node serves it."""
    settings = _settings(request)
    req = catalog_service_pb2.GetDatasetRequest(dataset_id=dataset_id, scope=settings.scope)
    found = await _backend(request).get_dataset(req, timeout=settings.timeout_s)
    return dataset_json(found)
