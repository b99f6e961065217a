"""Shared helpers: telemetry for tests and a real grpc.aio server on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from mesh.config import TlsConfig
from mesh.plumbing.rpc import Handler, unary_handlers
from mesh.security.tls import server_credentials
from mesh.tracing import Telemetry, TracingConfig, server_interceptor, setup_tracing
from mesh.tracing._metrics import LATENCY_BUCKETS_S, new_registry, render

SERVICE = "test.v1.Echo"
PING = f"/{SERVICE}/Ping"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
#: ``{(sample name, sorted labels): value}`` of a Prometheus text exposition.
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def make_telemetry(node_id: str = "no-oslo-1", country: str = "NO", **config: Any) -> Telemetry:
    return setup_tracing(TracingConfig(**config), "allelemesh-test", node_id, country)


def traceparent(trace_id: str = TRACE_ID, span_id: str = PARENT_SPAN_ID, flags: str = "01") -> str:
    return f"00-{trace_id}-{span_id}-{flags}"


def finished(telemetry: Telemetry) -> list[ReadableSpan]:
    """Every span the process recorded, oldest first."""
    assert telemetry.buffer is not None
    return list(telemetry.buffer._spans)


def samples(text: bytes | str) -> Samples:
    """{(sample name, sorted labels): value} of a Prometheus text exposition."""
    if isinstance(text, bytes):
        text = text.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def assert_like_sdk_span(ours: ReadableSpan, reference: ReadableSpan, kind: SpanKind) -> None:
    """``ours`` (recorded by the mesh's light span path) has what the SDK's span has."""
    assert ours.kind is reference.kind is kind
    assert ours.parent == reference.parent
    assert ours.context.trace_flags == reference.context.trace_flags
    assert ours.context.trace_state == reference.context.trace_state
    assert ours.resource is reference.resource
    assert ours.instrumentation_scope == reference.instrumentation_scope


def sdk_histogram(name: str) -> tuple[Histogram, Callable[[], Samples]]:
    """An SDK histogram with the mesh's buckets, and its samples as ``/metrics`` renders them."""
    reader = InMemoryMetricReader()
    histogram = (
        MeterProvider(metric_readers=[reader])
        .get_meter("reference")
        .create_histogram(name, unit="s", explicit_bucket_boundaries_advisory=LATENCY_BUCKETS_S)
    )
    return histogram, lambda: samples(render(new_registry(reader)))


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
