"""GA4GH Beacon v2 for allele frequencies, under ``/api``.

``/api/g_variants`` (GET and POST) answers sequence queries (one variant) and range
queries (a region) at ``boolean``, ``count`` or ``record`` granularity, with one
result set per (node, dataset): ``beaconId`` the node's Beacon id, ``id`` the dataset
id. ``skip``/``limit`` page the results *within* each result set (see
:mod:`gateway.http.beacon_search`). Every response says, in ``info``, which nodes
were asked and which failed (``outcomes``, ``failedNodes``), which datasets gave no
rows and why (``withheldDatasets``), and how exact the counts are. Every route is
also served under ``/api/v2.0.0`` (the GDI portal appends ``/v2.0.0/g_variants`` to
its base URL). Responses validate against the official Beacon v2 schemas and the GDI
portal's contract (see ``tests/gateway/http``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict

from gateway.genes import GeneSearch, gene_to_proto
from gateway.http import beacon_info
from gateway.http.backend import LookupBackend
from gateway.http.beacon_query import VARIANT_TYPES, BeaconQuery, build_query
from gateway.http.beacon_records import dbsnp_reference, precision_of, record
from gateway.http.beacon_search import SearchResult, catalog_datasets, run_query
from gateway.http.convert import JsonObject, assembly_name, outcome_json, status_json
from gateway.http.gene_api import gene_json
from gateway.http.numbers import ASCII_COUNT
from gateway.http.problems import PROBLEM_RESPONSES, bad_request
from gateway.http.settings import BEACON_API_VERSION, HttpSettings, public_base_url
from mesh.model.genes import GeneCatalog
from mesh.model.paging import MAX_PAGE_SIZE
from mesh.v1 import allele_pb2, catalog_service_pb2

#: Mounted at ``/api`` and again at ``/api/v2.0.0`` (see :func:`include_beacon`).
router = APIRouter(tags=["Beacon v2"], responses=PROBLEM_RESPONSES)
#: Where the Beacon is mounted; problems under these paths are ``beaconErrorResponse``s.
BEACON_PREFIX = "/api"
VERSIONED_PREFIX = f"{BEACON_PREFIX}/{BEACON_API_VERSION}"

_COUNTS_NOTE = (
    "Counts are exact unless a frequency says countPrecision 'rounded' (rounded by the "
    "dataset's privacy policy). Populations whose counts are suppressed are left out of "
    "frequencies and named in the record's info.suppressedPopulations: they are not zero."
)


def _backend(request: Request) -> LookupBackend:
    backend: LookupBackend = request.app.state.backend
    return backend


def _settings(request: Request) -> HttpSettings:
    settings: HttpSettings = request.app.state.settings
    return settings


def _genes(request: Request) -> GeneCatalog:
    """The gateway's gene catalog (``geneId`` is resolved here, searched as a range)."""
    search: GeneSearch = request.app.state.genes
    return search.catalog


class BeaconRequestBody(BaseModel):
    """A Beacon v2 request body (``meta`` and ``query``; extra fields are ignored)."""

    model_config = ConfigDict(extra="allow")

    meta: dict[str, Any] | None = None
    query: dict[str, Any] | None = None


@router.get("", summary="Beacon information (same as /api/info)")
@router.get("/info", summary="Beacon information")
async def info(request: Request) -> JsonObject:
    """The ``beaconInfoResponse`` of this Beacon."""
    return beacon_info.info_response(_settings(request), public_base_url(request))


@router.get("/service-info", summary="GA4GH service-info")
async def service_info(request: Request) -> JsonObject:
    """GA4GH service-info 1.0 of this Beacon."""
    return beacon_info.service_info(_settings(request))


@router.get("/map", summary="Beacon map: the endpoint of each entry type")
async def beacon_map(request: Request) -> JsonObject:
    """The ``beaconMapResponse``."""
    return beacon_info.map_response(_settings(request), public_base_url(request))


@router.get("/configuration", summary="Beacon configuration")
async def configuration(request: Request) -> JsonObject:
    """The ``beaconConfigurationResponse``."""
    return beacon_info.configuration_response(_settings(request))


@router.get("/entry_types", summary="Entry types served")
async def entry_types(request: Request) -> JsonObject:
    """The ``beaconEntryTypesResponse``."""
    return beacon_info.entry_types_response(_settings(request))


@router.get("/filtering_terms", summary="Filtering terms (none)")
async def filtering_terms(request: Request) -> JsonObject:
    """The ``beaconFilteringTermsResponse``: no filtering terms are supported."""
    return beacon_info.filtering_terms_response(_settings(request))


def _dataset(dataset: catalog_service_pb2.Dataset) -> JsonObject:
    """A Beacon ``dataset`` collection entry.

    The allelemesh fields sit beside the named ones rather than in ``info``: the
    default dataset schema refers ``info`` to a file the Beacon v2 release lacks
    (``models/.../common/info.json``), so no validator could check it.
    """
    if dataset.existence_only:  # its node shows this caller only that it exists
        return {
            "id": dataset.id,
            "name": dataset.id,
            "nodeId": dataset.node_id,
            "country": dataset.country,
            "existenceOnly": True,
        }
    entry: JsonObject = {
        "id": dataset.id,
        "name": dataset.title or dataset.id,
        "description": dataset.description,
        "assemblyId": assembly_name(dataset.assembly),
        "nodeId": dataset.node_id,
        "country": dataset.country,
        "sampleCount": int(dataset.sample_count),
        "variantCount": int(dataset.variant_count),
        "populations": list(dataset.populations),
        "sourceSha256": dataset.source_sha256,
    }
    if dataset.HasField("created_time"):
        entry["createDateTime"] = dataset.created_time.ToJsonString()
    return entry


@router.get("/datasets", summary="Datasets of the mesh (Beacon collections)")
async def datasets(
    request: Request,
    skip: Annotated[int, Query(ge=0, description="records to skip"), ASCII_COUNT] = 0,
    limit: Annotated[int, Query(ge=0, le=1000, description="records per page"), ASCII_COUNT] = 10,
) -> JsonObject:
    """Every dataset of every node that answered, as a ``beaconCollectionsResponse``."""
    settings = _settings(request)
    found: list[catalog_service_pb2.Dataset] = []
    token = ""
    failed: list[JsonObject] = []
    while True:
        req = catalog_service_pb2.ListDatasetsRequest(
            page_size=MAX_PAGE_SIZE, page_token=token, scope=settings.scope
        )
        response = await _backend(request).list_datasets(req, timeout=settings.timeout_s)
        found.extend(response.datasets)
        failed.extend(outcome_json(o) for o in response.outcomes if o.status.code != 0)
        token = response.next_page_token
        if not token:
            break
    limit = limit or settings.default_limit
    page = found[skip : skip + limit]
    meta = beacon_info.response_meta(
        settings,
        "dataset",
        granularity="record",
        requested_granularity="record",
        skip=skip,
        limit=limit,
    )
    return {
        "meta": meta,
        "responseSummary": {"exists": bool(found), "numTotalResults": len(found)},
        "response": {"collections": [_dataset(d) for d in page]},
        "info": {"failedNodes": failed},
    }


@router.get("/datasets/{dataset_id}", summary="One dataset (Beacon collections)")
async def dataset(request: Request, dataset_id: str) -> JsonObject:
    """One dataset as a ``beaconCollectionsResponse``; 404 problem when unknown."""
    settings = _settings(request)
    req = catalog_service_pb2.GetDatasetRequest(dataset_id=dataset_id, scope=settings.scope)
    found = await _backend(request).get_dataset(req, timeout=settings.timeout_s)
    meta = beacon_info.response_meta(
        settings, "dataset", granularity="record", requested_granularity="record"
    )
    return {
        "meta": meta,
        "responseSummary": {"exists": True, "numTotalResults": 1},
        "response": {"collections": [_dataset(found)]},
    }


def _query_params(request: Request) -> dict[str, Any]:
    """GET parameters: one value as a string, repeated values as a list."""
    raw: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in raw:
            previous = raw[key]
            raw[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            raw[key] = value
    return raw


@router.get("/g_variants", summary="Allele frequencies of a variant or a range (Beacon v2)")
async def g_variants_get(
    request: Request,
    reference_name: Annotated[str | None, Query(alias="referenceName")] = None,
    start: Annotated[list[str] | None, Query(description="0-based; one value")] = None,
    end: Annotated[list[str] | None, Query(description="0-based, exclusive")] = None,
    reference_bases: Annotated[str | None, Query(alias="referenceBases")] = None,
    alternate_bases: Annotated[str | None, Query(alias="alternateBases")] = None,
    variant_type: Annotated[str | None, Query(alias="variantType")] = None,
    assembly_id: Annotated[str | None, Query(alias="assemblyId")] = None,
    short_form: Annotated[str | None, Query(alias="genomicAlleleShortForm")] = None,
    gene_id: Annotated[
        str | None, Query(alias="geneId", description="HGNC symbol, e.g. PCSK9 (or geneid)")
    ] = None,
    dataset_ids: Annotated[str | None, Query(alias="datasetIds")] = None,
    requested_granularity: Annotated[str | None, Query(alias="requestedGranularity")] = None,
    include: Annotated[str | None, Query(alias="includeResultsetResponses")] = None,
    skip: Annotated[str | None, Query()] = None,
    limit: Annotated[str | None, Query()] = None,
) -> JsonObject:
    """Beacon ``g_variants`` by query parameters (``start`` is 0-based)."""
    raw = _query_params(request)
    control_keys = (
        "requestedGranularity",
        "includeResultsetResponses",
        "skip",
        "limit",
        "testMode",
    )
    control = {k: raw.pop(k) for k in control_keys if k in raw}
    if "filters" in raw:
        control["filters"] = raw.pop("filters")
    query = build_query(raw, control, _settings(request), genes=_genes(request))
    return await _answer(request, query)


@router.post("/g_variants", summary="Allele frequencies of a variant or a range (Beacon v2)")
async def g_variants_post(request: Request, body: BeaconRequestBody) -> JsonObject:
    """Beacon ``g_variants`` by request body (``query.requestParameters``; start 0-based)."""
    query_part = body.query or {}
    params: Any = query_part.get("requestParameters") or {}
    if isinstance(params, Mapping) and isinstance(params.get("g_variant"), Mapping):
        params = params["g_variant"]  # the entry-type keyed form
    if not isinstance(params, Mapping):
        raise bad_request("query.requestParameters", "requestParameters must be an object")
    pagination = query_part.get("pagination") or {}
    datasets_part = query_part.get("datasets") or {}
    control = {
        "requestedGranularity": query_part.get("requestedGranularity"),
        "includeResultsetResponses": query_part.get("includeResultsetResponses"),
        "skip": pagination.get("skip") if isinstance(pagination, Mapping) else None,
        "limit": pagination.get("limit") if isinstance(pagination, Mapping) else None,
        "filters": query_part.get("filters"),
        "testMode": query_part.get("testMode"),
        "datasetIds": datasets_part.get("datasetIds")
        if isinstance(datasets_part, Mapping)
        else None,
    }
    query = build_query(
        params,
        control,
        _settings(request),
        param_prefix="query.requestParameters.",
        control_prefix="query.",
        genes=_genes(request),
    )
    return await _answer(request, query)


async def _answer(request: Request, query: BeaconQuery) -> JsonObject:
    settings = _settings(request)
    backend = _backend(request)
    result = await run_query(backend, query, settings)
    meta = beacon_info.response_meta(
        settings,
        "genomicVariant",
        granularity=query.granularity,
        requested_granularity=query.granularity,
        skip=query.skip,
        limit=query.limit,
        parameters=query.parameters,
        include=query.include,
        filters=query.filters,
        assembly=query.assembly,
        test_mode=query.test_mode,
    )
    summary: JsonObject = {"exists": result.matched > 0}
    if query.granularity == "count" or (query.granularity == "record" and result.complete):
        summary["numTotalResults"] = result.matched
    response: JsonObject = {"meta": meta, "responseSummary": summary}
    if query.granularity == "record":
        catalog = await catalog_datasets(backend, query, settings)
        response["response"] = {"resultSets": _result_sets(request, query, result, catalog)}
    response["info"] = _info(query, result)
    return response


def _source(dataset: catalog_service_pb2.Dataset | None, dataset_id: str, base: str) -> JsonObject:
    """``source``/``sourceReference`` of a dataset: its metadata, else its catalogue entry."""
    source = dataset.source if dataset is not None and dataset.source else ""
    if not source:
        source = dataset.title if dataset is not None and dataset.title else dataset_id
    reference = dataset.source_reference if dataset is not None else ""
    return {"source": source, "source_reference": reference or f"{base}api/datasets/{dataset_id}"}


def _result_sets(
    request: Request,
    query: BeaconQuery,
    result: SearchResult,
    catalog: list[catalog_service_pb2.Dataset],
) -> list[JsonObject]:
    """One result set per (node, dataset), as ``includeResultsetResponses`` asks."""
    if query.include == "NONE":
        return []
    base = public_base_url(request)
    known = {(d.node_id, d.id): d for d in catalog}
    sets: dict[tuple[str, str], JsonObject] = {}

    def result_set(node_id: str, country: str, dataset_id: str) -> JsonObject:
        key = (node_id, dataset_id)
        if key not in sets:
            count = result.per_dataset.get(key, 0)
            dataset = known.get(key)
            info: JsonObject = {"nodeId": node_id, "country": country, "datasetId": dataset_id}
            if count:
                info["pagination"] = _set_paging(query, result, key)
            sets[key] = {
                "id": dataset_id,
                "setType": "dataset",
                "exists": count > 0,
                "resultsCount": count,
                "results": [],
                "info": info,
            }
            beacon_id = dataset.beacon_id if dataset is not None else ""
            # The node's Beacon id; a node too old to say one is named by the gateway's.
            sets[key]["beaconId"] = beacon_id or _settings(request).beacon_id
        return sets[key]

    if query.include in ("HIT", "ALL"):
        for frequency in result.page:
            key = (frequency.node_id, frequency.dataset_id)
            entry = result_set(frequency.node_id, frequency.country, frequency.dataset_id)
            source = _source(known.get(key), frequency.dataset_id, base)
            found = record(
                frequency,
                query.assembly,
                source=source["source"],
                source_reference=source["source_reference"],
            )
            if query.variant_id is not None:  # the id it was asked by names this variant
                ids = found.setdefault("identifiers", {})
                ids["variantAlternativeIds"] = [dbsnp_reference(query.variant_id)]
            entry["results"].append(found)
            if precision_of(frequency.counts) != "exact" or any(
                precision_of(p.counts) != "exact" for p in frequency.populations
            ):
                entry["info"]["countPrecision"] = _COUNTS_NOTE
    if query.include in ("MISS", "ALL") or not query.located:
        for dataset in catalog:
            if (dataset.node_id, dataset.id) not in result.per_dataset:
                result_set(dataset.node_id, dataset.country, dataset.id)
    if query.include == "MISS":
        return [s for s in sets.values() if not s["exists"]]
    return list(sets.values())


def _set_paging(query: BeaconQuery, result: SearchResult, key: tuple[str, str]) -> JsonObject:
    """One result set's page: ``nextSkip`` is the ``skip`` of the request for its next page."""
    paging: JsonObject = {"skip": query.skip, "limit": query.limit}
    if result.has_more(key):
        paging["hasMore"] = True
        paging["nextSkip"] = query.skip + query.limit
    else:
        paging["hasMore"] = False
    return paging


def _info(query: BeaconQuery, result: SearchResult) -> JsonObject:
    """Top-level ``info``: node outcomes, failures, withheld datasets, paging, warnings."""
    outcomes = list(result.outcomes.values())
    failed = [o for o in outcomes if o.status.code != 0]
    info: JsonObject = {
        "outcomes": [outcome_json(o) for o in outcomes],
        "failedNodes": [outcome_json(o) for o in failed],
        "withheldDatasets": withheld_datasets(outcomes),
        "countPrecision": _COUNTS_NOTE,
    }
    if failed:
        names = ", ".join(f"{o.node_id} ({o.country})" for o in failed)
        info["warning"] = f"these nodes did not answer, so their data is missing: {names}"
    if query.gene is not None:
        info["gene"] = gene_json(gene_to_proto(query.gene))
    if not query.located:
        info["note"] = (
            "no query parameters, so no variant matched: each dataset is listed with "
            "exists false. Give referenceName and start (0-based) with referenceBases and "
            "alternateBases for a variant, or start and end for a range"
        )
    if query.granularity == "record":
        has_more = result.has_more()
        paging: JsonObject = {
            "skip": query.skip,
            "limit": query.limit,
            "per": "resultSet",
            "returned": len(result.page),
            "hasMore": has_more,
        }
        if has_more:
            # skip and limit count results within each result set (dataset).
            paging["nextSkip"] = query.skip + query.limit
        info["pagination"] = paging
    if not result.complete and query.granularity == "count":
        info["numTotalResultsIsLowerBound"] = True
    warnings = list(result.warnings)
    if query.filters:
        warnings.append(f"filters are not supported and were ignored: {query.filters}")
    if query.variant_type is not None and query.variant_type not in VARIANT_TYPES:
        warnings.append(
            f"variantType {query.variant_type!r} never matches: this Beacon holds sequence "
            f"variants ({', '.join(VARIANT_TYPES)})"
        )
    if warnings:
        info["warnings"] = warnings
    return info


def withheld_datasets(outcomes: list[allele_pb2.NodeOutcome]) -> list[JsonObject]:
    """Every dataset a node reported giving no rows, with why (withheld, budget spent)."""
    out: list[JsonObject] = []
    for outcome in outcomes:
        for dataset in outcome.datasets:
            out.append(
                {
                    "datasetId": dataset.dataset_id,
                    "nodeId": outcome.node_id,
                    "country": outcome.country,
                    "status": status_json(dataset.status),
                }
            )
    return out


def beacon_error_decorator(request: Request, body: JsonObject) -> JsonObject:
    """Give a problem document Beacon's ``meta`` and ``error`` (a ``beaconErrorResponse``)."""
    settings: HttpSettings | None = getattr(request.app.state, "settings", None)
    if settings is None:
        return body
    meta = beacon_info.response_meta(
        settings, "genomicVariant", granularity="boolean", requested_granularity="boolean"
    )
    return {
        **body,
        "meta": meta,
        "error": {"errorCode": body["status"], "errorMessage": body["detail"]},
    }
