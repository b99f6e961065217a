"""The gateway process: the mesh's gRPC front door and host of the HTTP API.

:func:`start_gateway` starts a gateway inside the running event loop and returns a
:class:`RunningGateway` (tests use it with ``listen = "127.0.0.1:0"``): the gRPC
``AlleleFrequencyService`` and ``CatalogService`` over every peer, ``GeneService``
(genes resolved here, searched as regions), gRPC health and reflection, and (when
``http_listen`` is set) the HTTP API and FAIR Data Point. :func:`serve_forever` is what
``allelemesh gateway serve`` runs (SIGTERM/SIGINT stop gracefully).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
from dataclasses import dataclass

import grpc

from gateway.fdp import FdpPublisher
from gateway.genes import GeneSearch
from gateway.http.app import start_http
from gateway.http.server import HttpServer
from gateway.servicers import GatewayServicers
from mesh.check import CheckSettings, MeshCheckMonitor
from mesh.cli.health import local_target
from mesh.config import GatewayConfig
from mesh.errors import ConfigError
from mesh.federation import FederationSettings, MeshBackend
from mesh.model.genes import load_gene_catalog
from mesh.plumbing.ports import PortLock
from mesh.plumbing.rpc import GENE_SERVICE
from mesh.security.tiers import check_own_tier
from mesh.server import serving
from mesh.server.audit import AuditLog
from mesh.server.serving import GRACE_S, bind, check_transport, mark_serving, new_server
from mesh.tracing import Telemetry, setup_tracing

log = logging.getLogger(__name__)


@dataclass
class RunningGateway:
    """A started gateway: its gRPC port, its federation backend and how to stop it."""

    server: grpc.aio.Server
    port: int
    backend: MeshBackend
    config: GatewayConfig
    #: The HTTP API server (None without ``http_listen``).
    http: HttpServer | None = None
    telemetry: Telemetry | None = None
    fdp: FdpPublisher | None = None
    audit: AuditLog | None = None
    #: The continuous ``mesh check`` (None when ``mesh_check_interval_s = 0``).
    mesh_check: MeshCheckMonitor | None = None

    async def stop(self, grace: float | None = GRACE_S) -> None:
        """Stop the HTTP API and gRPC server, then close every peer channel."""
        if self.http is not None:
            await self.http.stop()
        if self.fdp is not None:
            await self.fdp.close()
        if self.mesh_check is not None:
            await self.mesh_check.stop()
        await self.server.stop(grace)
        await self.backend.close()
        if self.audit is not None:
            self.audit.close()
        if self.telemetry is not None:
            self.telemetry.shutdown()


def federation_settings(config: GatewayConfig) -> FederationSettings:
    """Federation tunables from ``gateway.toml``."""
    return FederationSettings(
        timeout_s=config.timeout_ms / 1000.0,
        catalog_refresh_s=config.catalog_refresh_s,
        page_token_secret=config.page_token_secret,
        dataset_ownership=config.dataset_ownership,
        default_assembly=config.default_assembly,
        min_individuals=config.min_individuals,
    )


async def start_gateway(
    config: GatewayConfig,
    *,
    insecure: bool = False,
    settings: FederationSettings | None = None,
) -> RunningGateway:
    """Open peer channels, fetch catalogues, bind the port and start serving."""
    check_transport(config.tls, insecure, "gateway")
    check_own_tier(config.tier, config.tls, "gateway")
    audit = AuditLog(config.audit_path) if config.audit_path is not None else None
    telemetry = setup_tracing(
        config.tracing, "allelemesh-gateway", config.id, config.country, tier=config.tier
    )
    settings = settings or federation_settings(config)
    if config.min_individuals > settings.min_individuals:  # the configured floor always holds
        settings = dataclasses.replace(settings, min_individuals=config.min_individuals)
    genes = load_gene_catalog(config.genes)  # a bad [genes] file stops the start here
    backend = MeshBackend.open(config.peers, tls=config.tls, settings=settings, telemetry=telemetry)
    gene_search = GeneSearch(
        backend, genes, tokens=backend.page_tokens, default_assembly=config.default_assembly
    )
    server, health_servicer = new_server(
        GatewayServicers(backend, audit, gene_search).handlers(),
        telemetry,
        max_concurrent_rpcs=config.max_concurrent_rpcs,
        tls=config.tls,
        extra_services=(GENE_SERVICE,),
    )
    try:
        port = bind(server, config.listen, config.tls, "gateway")
    except ConfigError:
        await server.stop(None)
        await backend.close()
        telemetry.shutdown()
        if audit is not None:
            audit.close()
        raise
    await backend.start()
    await server.start()
    running = RunningGateway(server, port, backend, config, telemetry=telemetry, audit=audit)
    running.mesh_check = start_mesh_check(config, port, telemetry)
    if config.http_listen:
        # The portal's HTTP API and FAIR Data Point, in this event loop, over the same
        # backend; the FDP validates the catalogue first and logs what it leaves out.
        running.fdp = FdpPublisher(
            backend, config.fdp, telemetry=telemetry, refresh_s=config.catalog_refresh_s
        )
        try:
            await running.fdp.start()
            running.http = await start_http(
                backend,
                config,
                telemetry=telemetry,
                fdp=running.fdp,
                audit=audit,
                mesh_check=running.mesh_check,
                genes=gene_search,
            )
        except BaseException:
            await running.stop(None)  # stop cleanly: no "Event loop is closed" at exit
            raise
    # SERVING only once every listener, the HTTP API included, is up.
    await mark_serving(health_servicer)
    log.info(
        "gateway %s serving %d peers on port %d",
        config.id,
        len(config.peers),
        port,
        extra={"fields": {"gateway_id": config.id, "port": port, "tls": config.tls is not None}},
    )
    return running


def start_mesh_check(
    config: GatewayConfig, port: int, telemetry: Telemetry
) -> MeshCheckMonitor | None:
    """The continuous ``mesh check`` of every peer, exported on ``/metrics``."""
    if config.mesh_check_interval_s <= 0:
        return None
    host = config.listen.rpartition(":")[0]
    settings = CheckSettings(
        tls=config.tls,
        tier=config.tier,
        mesh_address=local_target(f"{host}:{port}"),  # canaries compare with our answers
        latency_warn_ms=config.mesh_check_latency_warn_ms,
    )
    monitor = MeshCheckMonitor(config.peers, settings, config.mesh_check_interval_s)
    telemetry.registry.register(monitor)
    monitor.start()
    return monitor


async def _serve(config: GatewayConfig, insecure: bool) -> None:
    gateway = await start_gateway(config, insecure=insecure)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    with contextlib.suppress(asyncio.CancelledError):
        await stop.wait()
    log.info("gateway %s stopping", config.id)
    await gateway.stop()


def preflight(config: GatewayConfig) -> PortLock | None:
    """What ``gateway serve`` refuses to start without: live certificates and free ports.

    Returns the lock of the gRPC port, held for the process's life.
    """
    return serving.preflight(
        config.tls,
        ("[gateway].listen", config.listen),
        f"gateway {config.id}",
        [("[gateway].http_listen", config.http_listen or "")],
    )


def serve_forever(config: GatewayConfig, *, insecure: bool = False) -> None:
    """Run the gateway (gRPC, and HTTP if configured) until SIGTERM/SIGINT."""
    lock = preflight(config)
    try:
        asyncio.run(_serve(config, insecure))
    finally:
        if lock is not None:
            lock.release()
