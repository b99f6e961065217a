"""The portal's HTTP API: Beacon v2 under ``/api``, a plain JSON API under ``/v1``.

:func:`create_app` builds the FastAPI app over any :class:`LookupBackend`;
:func:`start_http` serves it inside the gateway's event loop::

    server = await start_http(backend, config)   # config.http_listen = "0.0.0.0:8080"
    ...
    await server.stop()

Every error is an RFC 7807 problem (:mod:`gateway.http.problems`); the OpenAPI
document is at ``/openapi.json`` and browsable at ``/docs`` (Swagger UI served locally,
:mod:`gateway.http.docs`). Every answer carries the security headers of
:mod:`gateway.http.security`, and the gateway's own address in answers comes from
``public_url``, never from the request.
"""

from __future__ import annotations

import ssl
from dataclasses import replace
from typing import Protocol

from fastapi import FastAPI

from gateway.fdp import FdpPublisher, mount_fdp
from gateway.genes import GeneSearch
from gateway.http import beacon, gene_api, json_api, mesh_status
from gateway.http.auth import CallerIdentity
from gateway.http.backend import LookupBackend
from gateway.http.docs import mount_docs
from gateway.http.oidc import BearerAuthenticator
from gateway.http.problems import PROBLEM_RESPONSES, BodySizeLimit, install_problem_handlers
from gateway.http.security import EdgeMiddleware
from gateway.http.server import HttpServer, serve, server_ssl_context
from gateway.http.settings import FALLBACK_PUBLIC_URL, SERVICE_VERSION, HttpSettings
from gateway.pages import mount_pages
from mesh.config import TlsConfig
from mesh.config.http import HttpOptions
from mesh.errors import ConfigError, IndexBuildError
from mesh.model.genome import Assembly
from mesh.model.reference import open_references
from mesh.security.tiers import beacon_environment
from mesh.security.trust import TrustStore, store_for
from mesh.server.audit import AuditLog
from mesh.tracing import Telemetry, TracingMiddleware


class HttpConfig(Protocol):
    """What :func:`start_http` reads from the gateway's configuration."""

    @property
    def http_listen(self) -> str:
        """``HOST:PORT`` to listen on (port 0: any free port)."""
        ...

    @property
    def tls(self) -> TlsConfig | None:
        """When set, HTTPS demanding client certificates from the same trust bundle."""
        ...


def create_app(
    backend: LookupBackend,
    settings: HttpSettings | None = None,
    telemetry: Telemetry | None = None,
    fdp: FdpPublisher | None = None,
    *,
    authenticator: BearerAuthenticator | None = None,
    audit: AuditLog | None = None,
    mesh_check: object | None = None,
    trust: TrustStore | None = None,
    genes: GeneSearch | None = None,
) -> FastAPI:
    """The HTTP API over ``backend``; with ``telemetry``, traced and serving ``/metrics``.

    The FAIR Data Point (``/fdp``) publishes through ``fdp`` (default: one over
    ``backend`` that validates on first use). Every request is answered for the caller
    :class:`~gateway.http.auth.CallerIdentity` establishes (a bearer token validated by
    ``authenticator``, a client certificate, or nobody), and recorded in ``audit``.
    """
    settings = settings or HttpSettings()
    app = FastAPI(
        title="allelemesh HTTP API",
        version=SERVICE_VERSION,
        description=(
            "Federated allele frequencies: GA4GH Beacon v2 (`/api`) and a plain JSON API "
            "(`/v1`). Beacon `start` is 0-based; everything under `/v1` is 1-based."
        ),
        responses=PROBLEM_RESPONSES,
        docs_url=None,  # FastAPI's loads Swagger UI from a CDN; see gateway.http.docs
        redoc_url=None,
        # Our TracingMiddleware traces and measures every request; FastAPI's own
        # OpenTelemetry would do it twice once a global provider is set, and asks
        # the global providers on every request to find out that none is.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.backend = backend
    app.state.settings = settings
    # Gene queries (JSON, Beacon geneId, pages): resolved here, searched as regions.
    app.state.genes = genes or GeneSearch(
        backend, default_assembly=settings.default_assembly, scope=settings.scope
    )
    # start_http replaces the fallback by the listen address when none is configured.
    app.state.public_url = settings.public_url or FALLBACK_PUBLIC_URL
    app.state.mesh_check = mesh_check  # a mesh.check.MeshCheckMonitor, or None
    app.state.beacon_error_decorator = beacon.beacon_error_decorator
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outside the body limit (a bad token is refused before a body is read), inside tracing.
    app.add_middleware(CallerIdentity, authenticator=authenticator, audit=audit, trust=trust)
    app.include_router(beacon.router, prefix=beacon.BEACON_PREFIX)
    # The GDI portal appends /v2.0.0/g_variants to its base URL: serve the same Beacon
    # there too (left out of the OpenAPI document, which would list every route twice).
    app.include_router(beacon.router, prefix=beacon.VERSIONED_PREFIX, include_in_schema=False)
    app.include_router(json_api.router)
    app.include_router(gene_api.router)
    mount_docs(app)
    mount_fdp(app, fdp or FdpPublisher(backend))
    app.include_router(mesh_status.router)
    mount_pages(app)  # last: the browser page at / and its assets under /static
    if telemetry is not None:
        # Continues a portal's traceparent, answers with traceresponse and X-Trace-Id,
        # and serves /metrics.
        app.add_middleware(TracingMiddleware, telemetry=telemetry)
    # Outermost (added last): security headers on every answer, /metrics included, and
    # the public origin in place of the caller's Host.
    app.add_middleware(EdgeMiddleware)
    return app


async def start_http(
    backend: LookupBackend,
    config: HttpConfig,
    *,
    settings: HttpSettings | None = None,
    ssl_context: ssl.SSLContext | None = None,
    telemetry: Telemetry | None = None,
    fdp: FdpPublisher | None = None,
    audit: AuditLog | None = None,
    mesh_check: object | None = None,
    genes: GeneSearch | None = None,
) -> HttpServer:
    """Serve the HTTP API on ``config.http_listen`` in the running event loop.

    ``ssl_context`` wins; otherwise ``config.tls`` (if any) makes it HTTPS with client
    certificates required, like every other listener of the mesh, unless
    ``config.http.oidc`` names issuers: then a caller may bring a bearer token instead.
    """
    options = getattr(config, "http", None)
    issuers = options.oidc if isinstance(options, HttpOptions) else ()
    authenticator = BearerAuthenticator(issuers) if issuers else None
    if ssl_context is None and config.tls is not None:
        ssl_context = server_ssl_context(config.tls, require_client_cert=not issuers)
    if settings is None:
        settings = HttpSettings()
        if isinstance(options, HttpOptions):
            settings = replace(
                settings, public_url=options.public_url, header_timeout_s=options.header_timeout_s
            )
        paths = getattr(config, "references", None)
        if paths:
            try:
                settings = replace(settings, references=open_references(paths))
            except IndexBuildError as exc:
                raise ConfigError(f"[references]: {exc.message}") from None
        default_assembly = getattr(config, "default_assembly", None)
        if isinstance(default_assembly, Assembly):
            settings = replace(settings, default_assembly=default_assembly)
        peer_timeout_ms = getattr(config, "timeout_ms", None)
        if isinstance(peer_timeout_ms, int) and peer_timeout_ms > 0:
            # The federation answers within the peer deadline; leave it room to do so.
            settings = replace(settings, timeout_s=peer_timeout_ms / 1000.0 + 1.0)
        tier = getattr(config, "tier", None)
        if isinstance(tier, str):
            # Beacon info.environment and the pages' banner follow the certified tier.
            settings = replace(settings, tier=tier, environment=beacon_environment(tier))
    app = create_app(
        backend,
        settings,
        telemetry,
        fdp,
        authenticator=authenticator,
        audit=audit,
        mesh_check=mesh_check,
        genes=genes,
        # Client certificates on HTTPS meet the same rules as on the gRPC ports.
        trust=store_for(config.tls) if config.tls is not None else None,
    )
    server = await serve(
        app, config.http_listen, ssl_context, header_timeout_s=settings.header_timeout_s
    )
    if not settings.public_url:
        # Not configured: the address this server listens on (known only once bound).
        app.state.public_url = server.url + "/"
    return server
