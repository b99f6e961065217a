"""Shared helpers: telemetry for tests and a real grpc.aio server on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
from opentelemetry.sdk.trace import ReadableSpan

from mesh.config import TlsConfig
from mesh.plumbing.rpc import Handler, unary_handlers
from mesh.security.tls import server_credentials
from mesh.tracing import Telemetry, TracingConfig, server_interceptor, setup_tracing

SERVICE = "test.v1.Echo"
PING = f"/{SERVICE}/Ping"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"


def make_telemetry(node_id: str = "no-oslo-1", country: str = "NO", **config: Any) -> Telemetry:
    return setup_tracing(TracingConfig(**config), "allelemesh-test", node_id, country)


def traceparent(trace_id: str = TRACE_ID, span_id: str = PARENT_SPAN_ID, flags: str = "01") -> str:
    return f"00-{trace_id}-{span_id}-{flags}"


def finished(telemetry: Telemetry) -> list[ReadableSpan]:
    """Every span the process recorded, oldest first."""
    assert telemetry.buffer is not None
    return list(telemetry.buffer._spans)


def only(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


@contextlib.asynccontextmanager
async def run_server(
    telemetry: Telemetry | None,
    handlers: dict[str, Handler],
    *,
    tls: TlsConfig | None = None,
    extra: Sequence[grpc.GenericRpcHandler] = (),
) -> AsyncIterator[int]:
    """A grpc.aio server with the tracing interceptor (none if ``telemetry`` is None)."""
    interceptors = [server_interceptor(telemetry)] if telemetry is not None else None
    server = grpc.aio.server(interceptors=interceptors)
    server.add_generic_rpc_handlers((unary_handlers(handlers, SERVICE), *extra))
    if tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", server_credentials(tls))
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)
