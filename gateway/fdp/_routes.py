"""The FDP's HTTP routes: one RDF document per URL, content-negotiated."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Query, Request
from rdflib import Graph
from starlette.responses import Response

from gateway.fdp._publisher import FdpPublisher
from gateway.http.problems import ProblemError, bad_request
from gateway.http.settings import public_base_url
from mesh.fdp import (
    FORMATS,
    FormatError,
    Site,
    catalog_graph,
    choose_format,
    dataset_graph,
    distribution_graph,
    root_graph,
    serialize,
)
from mesh.v1.catalog_service_pb2 import Dataset

router = APIRouter(prefix="/fdp", tags=["FAIR Data Point"])

_FORMAT = Query(
    None,
    description="ttl (Turtle, the default), jsonld (JSON-LD) or rdf (RDF/XML); "
    "overrides the Accept header",
)
_RDF_TYPES: dict[str, dict[str, object]] = {f.media_type: {} for f in FORMATS}
_RESPONSES: dict[int | str, dict[str, object]] = {200: {"content": _RDF_TYPES}}


def _publisher(request: Request) -> FdpPublisher:
    publisher: FdpPublisher = request.app.state.fdp
    return publisher


def _site(request: Request, publisher: FdpPublisher) -> Site:
    # IRIs start with the gateway's public URL ([http] public_url), never the caller's Host.
    config = publisher.config
    return Site(public_base_url(request), title=config.title, publisher=config.publisher)


def _respond(request: Request, graph: Graph, format_param: str | None) -> Response:
    try:
        chosen = choose_format(request.headers.get("accept"), format_param)
    except FormatError as exc:
        if format_param:
            raise bad_request("format", str(exc)) from None
        raise ProblemError(406, str(exc), reason="NOT_ACCEPTABLE") from None
    media_type = chosen.media_type + ("; charset=utf-8" if chosen.name == "ttl" else "")
    return Response(serialize(graph, chosen), media_type=media_type, headers={"Vary": "Accept"})


@router.get("", responses=_RESPONSES, response_class=Response)
async def fdp_root(request: Request, format: str | None = _FORMAT) -> Response:
    """The FAIR Data Point: the mesh's metadata service, one catalog per country."""
    publisher = _publisher(request)
    snapshot = await publisher.snapshot()
    return _respond(request, root_graph(_site(request, publisher), snapshot.countries), format)


@router.get("/catalog/{country}", responses=_RESPONSES, response_class=Response)
async def fdp_catalog(
    request: Request,
    country: str,
    format: str | None = _FORMAT,
) -> Response:
    """One country's catalog: its published datasets (with the last-seen time if cached)."""
    publisher = _publisher(request)
    snapshot = await publisher.snapshot()
    if country not in snapshot.published:
        raise ProblemError(404, f"no catalog for country {country!r} in this FAIR Data Point")
    graph = catalog_graph(
        _site(request, publisher),
        country,
        snapshot.published[country],
        snapshot.cached.get(country),
    )
    return _respond(request, graph, format)


async def _dataset(request: Request, dataset_id: str) -> tuple[Site, Dataset]:
    publisher = _publisher(request)
    snapshot = await publisher.snapshot()
    dataset = snapshot.dataset(dataset_id)
    if dataset is None:
        left_out = snapshot.unpublished.get(dataset_id)
        if left_out is not None:
            reasons = "; ".join(str(p) for p in left_out[1])
            raise ProblemError(
                404,
                f"dataset {dataset_id!r} is not published: its metadata does not validate "
                f"({reasons})",
                reason="METADATA_INVALID",
            )
        raise ProblemError(404, f"no dataset {dataset_id!r} in this FAIR Data Point")
    return _site(request, publisher), dataset


@router.get("/dataset/{dataset_id}", responses=_RESPONSES, response_class=Response)
async def fdp_dataset(
    request: Request,
    dataset_id: str,
    format: str | None = _FORMAT,
) -> Response:
    """One dataset: its metadata file's fields and its index's counts and dates."""
    site, dataset = await _dataset(request, dataset_id)
    return _respond(request, dataset_graph(site, dataset), format)


@router.get("/distribution/{dataset_id}", responses=_RESPONSES, response_class=Response)
async def fdp_distribution(
    request: Request,
    dataset_id: str,
    format: str | None = _FORMAT,
) -> Response:
    """A dataset's distribution: its allele frequencies through the Beacon (``/api``)."""
    site, dataset = await _dataset(request, dataset_id)
    return _respond(request, distribution_graph(site, dataset), format)


def mount_fdp(app: FastAPI, publisher: FdpPublisher) -> None:
    """Serve the FDP under ``/fdp`` from ``publisher``."""
    app.state.fdp = publisher
    app.include_router(router)
