"""The gRPC server plumbing every allelemesh process shares: nodes and gateways alike.

A node and a gateway serve the same services with different servicers; everything
around them (message limits, keepalive, overload shedding, tracing, health, reflection,
TLS and the bound port) is built here once, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mesh.config import TlsConfig
from mesh.errors import ConfigError
from mesh.plumbing.ports import PortLock, port_in_use, reserve_ports
from mesh.plumbing.rpc import ALLELE_SERVICE, CATALOG_SERVICE, TRACE_SERVICE
from mesh.security.certificates import check_tls_files
from mesh.security.tls import server_credentials
from mesh.security.trust import store_for
from mesh.server.guard import PeerGuard
from mesh.tracing import Telemetry, server_interceptor, trace_service_handler

#: Largest request accepted: a full batch of 10,000 long-allele variants fits easily.
MAX_RECEIVE_BYTES = 16 * 1024 * 1024
MAX_SEND_BYTES = 64 * 1024 * 1024
#: Seconds in-flight calls get to finish when a server stops.
GRACE_S = 5.0

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.max_send_message_length", MAX_SEND_BYTES),
    # Let clients keep idle connections alive with pings every 10 s or more.
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


def new_server(
    handlers: Sequence[grpc.GenericRpcHandler],
    telemetry: Telemetry,
    *,
    max_concurrent_rpcs: int,
    reuse_port: bool = False,
    tls: TlsConfig | None = None,
    extra_services: Sequence[str] = (),
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """A server with the mesh's services, TraceService, health and reflection (not bound).

    Calls beyond ``max_concurrent_rpcs`` are refused at once with ``RESOURCE_EXHAUSTED``
    rather than queued without bound. ``reuse_port`` only for a node's own ``--workers``
    (which hold its port lock, see :mod:`mesh.plumbing.ports`): gRPC's default is on, which would
    let any other process on this machine share the port unnoticed. With ``tls``, every
    call first passes the :class:`~mesh.server.guard.PeerGuard` (inside tracing, so refusals
    are traced and counted). ``extra_services`` are named to reflection too (the
    gateway's ``GeneService``).
    """
    guard = PeerGuard(store_for(tls)) if tls is not None else None
    interceptors = [server_interceptor(telemetry, guard)]
    server = grpc.aio.server(
        options=(*SERVER_OPTIONS, ("grpc.so_reuseport", int(reuse_port))),
        maximum_concurrent_rpcs=max_concurrent_rpcs,
        interceptors=interceptors,
    )
    server.add_generic_rpc_handlers(tuple(handlers))
    server.add_generic_rpc_handlers((trace_service_handler(telemetry),))
    health_servicer = _StartingHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = (
        ALLELE_SERVICE,
        CATALOG_SERVICE,
        *extra_services,
        TRACE_SERVICE,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(services, server)
    return server, health_servicer


def bind(server: grpc.aio.Server, listen: str, tls: TlsConfig | None, who: str) -> int:
    """Bind ``listen`` (mTLS when ``tls`` is set) and return the port, or refuse clearly."""
    credentials = server_credentials(tls) if tls is not None else None
    try:
        if credentials is not None:
            port = int(server.add_secure_port(listen, credentials))
        else:
            port = int(server.add_insecure_port(listen))
    except RuntimeError:  # grpcio: "Failed to bind to address ..."
        port = 0
    if port == 0:
        raise port_in_use(f"[{who}].listen", listen)
    return port


def check_transport(tls: TlsConfig | None, insecure: bool, who: str) -> None:
    """Plaintext only when asked for, and never together with a ``[tls]`` table."""
    if tls is None and not insecure:
        raise ConfigError(
            f"{who}: no [tls] table: configure TLS, or pass --insecure for plaintext "
            "on a trusted network"
        )
    if tls is not None and insecure:
        raise ConfigError(f"{who}: --insecure is refused when a [tls] table is configured")


#: What health reports on: the server (``""``) and each mesh service.
_HEALTH_NAMES = ("", ALLELE_SERVICE, CATALOG_SERVICE)


class _StartingHealthServicer(health.aio.HealthServicer):  # type: ignore[misc]
    """grpc's health servicer, but NOT_SERVING until :func:`mark_serving`.

    grpc's own starts with the server (``""``) SERVING, so a client waiting for health
    (a probe, the demo, ``mesh check``) was told a gateway was up while its HTTP API was
    still starting, and was refused on the HTTP port.
    """

    def __init__(self) -> None:
        super().__init__()
        # No watcher exists yet, so the statuses can be set without ``await set(...)``.
        for name in _HEALTH_NAMES:
            self._server_status[name] = health_pb2.HealthCheckResponse.NOT_SERVING


async def mark_serving(health_servicer: health.aio.HealthServicer) -> None:
    """Report the server and each mesh service as SERVING to gRPC health checks."""
    for name in _HEALTH_NAMES:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)


def preflight(
    tls: TlsConfig | None,
    listen: tuple[str, str],
    owner: str,
    others: Sequence[tuple[str, str]] = (),
) -> PortLock | None:
    """What ``serve`` refuses to start without: live certificates and free ports.

    ``listen`` and ``others`` are ``(setting, HOST:PORT)``; returns the lock of the
    gRPC port, held for the process's life (see :func:`~mesh.plumbing.ports.reserve_ports`).
    """
    if tls is not None:
        check_tls_files(tls.cert, tls.ca)
    return reserve_ports(listen[0], listen[1], owner, others)
