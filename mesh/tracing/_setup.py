"""One process's telemetry: tracer provider, exporters, span buffer and metrics."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased
from opentelemetry.trace import Tracer
from prometheus_client import CollectorRegistry

from mesh.config.telemetry import TracingConfig
from mesh.config.tiers import PRODUCTION
from mesh.plumbing.ports import port_in_use
from mesh.security.certificates import EXPIRY
from mesh.security.tiers import TierInfo
from mesh.tracing._metrics import MeshMetrics, new_registry, render, serve_metrics_http
from mesh.tracing._spans import (
    COUNTRY_KEY,
    NODE_ID_KEY,
    SERVICE_NAME_KEY,
    TIER_KEY,
    JsonlSpanExporter,
    SpanBuffer,
)

log = logging.getLogger(__name__)

INSTRUMENTATION_NAME = "allelemesh"


@dataclass
class Telemetry:
    """Everything the interceptors, middleware and ``TraceService`` of one process share."""

    config: TracingConfig
    service_name: str
    node_id: str
    country: str
    tracer_provider: TracerProvider
    tracer: Tracer
    buffer: SpanBuffer | None
    meter_provider: MeterProvider
    metrics: MeshMetrics
    registry: CollectorRegistry

    def force_flush(self) -> None:
        """Push buffered spans to the exporters now (tests, and before a trace lookup)."""
        self.tracer_provider.force_flush()

    def shutdown(self) -> None:
        """Flush and stop exporters; call once when the server stops."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _exporter(config: TracingConfig) -> SpanExporter | None:
    if config.exporter == "otlp":
        # Imported only when used: it pulls in the OTLP protobufs.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(
            endpoint=config.endpoint, insecure=config.endpoint.startswith("http://")
        )
    if config.exporter == "jsonl":
        assert config.jsonl_path is not None  # parse_tracing requires it
        return JsonlSpanExporter(config.jsonl_path)
    if config.exporter == "console":
        return ConsoleSpanExporter(out=sys.stderr)
    return None


def setup_tracing(
    config: TracingConfig,
    service_name: str,
    node_id: str,
    country: str = "",
    *,
    tier: str = PRODUCTION,
) -> Telemetry:
    """Build this process's telemetry (no global OpenTelemetry state is touched).

    The tier is a resource attribute (``mesh.tier`` and OpenTelemetry's
    ``deployment.environment.name``), so every span and metric carries it, and
    ``/metrics`` shows ``allelemesh_tier_info{tier=...}``.
    """
    resource = Resource.create(
        {
            SERVICE_NAME_KEY: service_name,
            "service.instance.id": node_id,
            NODE_ID_KEY: node_id,
            COUNTRY_KEY: country,
            TIER_KEY: tier,
            "deployment.environment.name": tier,
        }
    )
    # ParentBased: a sampled portal traceparent is always continued, an unsampled one never.
    sampler = ParentBased(TraceIdRatioBased(config.sample_ratio)) if config.records else ALWAYS_OFF
    provider = TracerProvider(sampler=sampler, resource=resource, shutdown_on_exit=False)
    buffer = None
    if config.buffer_spans > 0:
        buffer = SpanBuffer(config.buffer_spans)
        provider.add_span_processor(buffer)
    exporter = _exporter(config)
    if exporter is not None:
        # Batching keeps export I/O off the RPC path (a worker thread does it).
        processor: SpanProcessor = BatchSpanProcessor(exporter, schedule_delay_millis=1000)
        provider.add_span_processor(processor)
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(
        metric_readers=[reader], resource=resource, shutdown_on_exit=False
    )
    log.info(
        "tracing: exporter %s, sample ratio %s, buffer %d spans",
        config.exporter,
        config.sample_ratio,
        config.buffer_spans,
    )
    registry = new_registry(reader)
    metrics = MeshMetrics(meter_provider.get_meter(INSTRUMENTATION_NAME))
    registry.register(metrics)  # the histograms kept outside OpenTelemetry
    registry.register(EXPIRY)  # certificate expiry gauges on every /metrics
    registry.register(TierInfo(tier, service_name))
    return Telemetry(
        config=config,
        service_name=service_name,
        node_id=node_id,
        country=country,
        tracer_provider=provider,
        tracer=provider.get_tracer(INSTRUMENTATION_NAME),
        buffer=buffer,
        meter_provider=meter_provider,
        metrics=metrics,
        registry=registry,
    )


def metrics_text(telemetry: Telemetry) -> bytes:
    """The Prometheus text exposition for ``GET /metrics``."""
    return render(telemetry.registry)


async def start_metrics_server(
    telemetry: Telemetry, listen: str, *, reuse_port: bool = False
) -> asyncio.Server:
    """Serve ``GET /metrics`` on ``listen`` (HOST:PORT, port 0 picks one); close() to stop.

    ``reuse_port`` for a node's own workers; a busy port is a ``ConfigError`` naming
    ``[metrics].listen`` and the owner.
    """
    host, _, port = listen.rpartition(":")
    try:
        return await serve_metrics_http(
            lambda: metrics_text(telemetry),
            host.strip("[]") or "127.0.0.1",
            int(port),
            reuse_port=reuse_port,
        )
    except OSError as exc:
        raise port_in_use("[metrics].listen", listen, str(exc.strerror or exc)) from None
