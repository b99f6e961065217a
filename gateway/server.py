"""The gateway process: the mesh's gRPC front door (and host of the HTTP API).

:func:`start_gateway` starts a gateway inside the running event loop and returns a
:class:`RunningGateway` (tests use it with ``listen = "127.0.0.1:0"``): the gRPC
``AlleleFrequencyService`` and ``CatalogService`` over every peer, gRPC health and
reflection, and the HTTP API when ``gateway.http.app`` is installed and
``http_listen`` is set. :func:`serve_forever` is what ``allelemesh gateway serve``
runs (SIGTERM/SIGINT stop gracefully).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.http.app import start_http
from gateway.http.server import HttpServer
from gateway.servicers import ALLELE_SERVICE, CATALOG_SERVICE, GatewayServicers
from mesh.config import GatewayConfig
from mesh.errors import ConfigError
from mesh.federation import FederationSettings, MeshBackend
from mesh.tls import server_credentials
from mesh.tracing import (
    TRACE_SERVICE,
    Telemetry,
    server_interceptor,
    setup_tracing,
    trace_service_handler,
)

log = logging.getLogger(__name__)

GRACE_S = 5.0
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
    # Let clients keep idle connections alive with pings every 10 s or more.
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


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

    async def stop(self, grace: float | None = GRACE_S) -> None:
        """Stop the HTTP API and gRPC server, then close every peer channel."""
        if self.http is not None:
            await self.http.stop()
        await self.server.stop(grace)
        await self.backend.close()
        if self.telemetry is not None:
            self.telemetry.shutdown()


def federation_settings(config: GatewayConfig) -> FederationSettings:
    """Federation tunables from ``gateway.toml``."""
    return FederationSettings(
        timeout_s=config.timeout_ms / 1000.0, catalog_refresh_s=config.catalog_refresh_s
    )


async def start_gateway(
    config: GatewayConfig,
    *,
    insecure: bool = False,
    settings: FederationSettings | None = None,
) -> RunningGateway:
    """Open peer channels, fetch catalogues, bind the port and start serving."""
    if config.tls is None and not insecure:
        raise ConfigError(
            "gateway: no [tls] table: configure TLS, or pass --insecure for plaintext "
            "on a trusted network"
        )
    if config.tls is not None and insecure:
        raise ConfigError("gateway: --insecure is refused when a [tls] table is configured")
    telemetry = setup_tracing(config.tracing, "allelemesh-gateway", config.id, config.country)
    backend = MeshBackend.open(
        config.peers,
        tls=config.tls,
        settings=settings or federation_settings(config),
        telemetry=telemetry,
    )
    server = grpc.aio.server(
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
        interceptors=[server_interceptor(telemetry)],
    )
    server.add_generic_rpc_handlers(tuple(GatewayServicers(backend).handlers()))
    server.add_generic_rpc_handlers((trace_service_handler(telemetry),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = (
        ALLELE_SERVICE,
        CATALOG_SERVICE,
        TRACE_SERVICE,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(services, server)
    if config.tls is not None:
        port = server.add_secure_port(config.listen, server_credentials(config.tls))
    else:
        port = server.add_insecure_port(config.listen)
    if port == 0:
        await backend.close()
        raise ConfigError(f"gateway: cannot listen on {config.listen} (address in use?)")
    await backend.start()
    await server.start()
    for name in ("", ALLELE_SERVICE, CATALOG_SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    running = RunningGateway(server, port, backend, config, telemetry=telemetry)
    if config.http_listen:
        # The portal's HTTP API, in this event loop, over the same backend.
        running.http = await start_http(backend, config, telemetry=telemetry)
    log.info(
        "gateway %s serving %d peers on port %d",
        config.id,
        len(config.peers),
        port,
        extra={"fields": {"gateway_id": config.id, "port": port, "tls": config.tls is not None}},
    )
    return running


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


def serve_forever(config: GatewayConfig, *, insecure: bool = False) -> None:
    """Run the gateway (gRPC, and HTTP if configured) until SIGTERM/SIGINT."""
    asyncio.run(_serve(config, insecure))
