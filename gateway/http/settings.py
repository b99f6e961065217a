"""Settings of the HTTP API: who the Beacon says it is, limits and deadlines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from mesh.model.genome import Assembly
from mesh.model.normalize import ReferenceSequence
from mesh.v1 import allele_pb2

BEACON_API_VERSION = "v2.0.0"
SERVICE_VERSION = "0.1.0"


@dataclass(frozen=True)
class HttpSettings:
    """Everything :func:`gateway.http.app.create_app` needs besides the backend."""

    beacon_id: str = "org.allelemesh.beacon"
    beacon_name: str = "allelemesh allele-frequency Beacon"
    organization_id: str = "allelemesh"
    organization_name: str = "allelemesh federation"
    organization_url: str = "https://allelemesh.org/"
    #: Beacon ``environment``: prod, test, dev or staging (the gateway sets it from its tier).
    environment: str = "dev"
    #: The gateway's certified tier (:mod:`mesh.security.tiers`), shown by the pages.
    tier: str = "production"
    #: Shown as ``source`` of every ``frequencyInPopulations`` entry.
    source: str = "allelemesh federated allele frequencies"
    default_assembly: Assembly = Assembly.GRCH38
    #: Deadline of one backend call, in seconds.
    timeout_s: float = 10.0
    #: Largest request body accepted (413 beyond).
    max_body_bytes: int = 2 * 1024 * 1024
    max_batch_variants: int = 10_000
    #: Largest region one request may search, in bp (``None``: the whole chromosome).
    max_region_span: int | None = None
    #: Beacon ``limit`` when a request gives none, and the largest accepted.
    default_limit: int = 10
    max_limit: int = 1000
    #: Scope set on backend requests: a gateway answers over the whole mesh.
    scope: allele_pb2.Scope = allele_pb2.SCOPE_MESH
    #: The gateway's own address in answers (``[http] public_url``, ending in ``/``);
    #: empty: the address it listens on. Never taken from a request's ``Host``.
    public_url: str = ""
    #: Seconds a request's head may take to arrive before ``408`` and a close.
    header_timeout_s: float = 5.0
    #: Reference genomes (gateway.toml ``[references]``) that translate HGVS indels into
    #: the VCF-style alleles the contract carries; none: HGVS indels are a 400.
    references: Mapping[Assembly, ReferenceSequence] = field(default_factory=dict)


#: The public URL of an app whose server has not said where it listens (in-process tests).
FALLBACK_PUBLIC_URL = "http://localhost/"


def public_base_url(request: Request) -> str:
    """The gateway's base URL for answers (ends in ``/``), from configuration only."""
    url: str = request.app.state.public_url
    return url
