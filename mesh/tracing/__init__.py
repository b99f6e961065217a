"""Cross-border tracing and metrics for mesh operators.

Set-up (once per process, from ``[tracing]`` in node.toml / gateway.toml)::

    telemetry = setup_tracing(config.tracing, "allelemesh-node", config.id, config.country)
    server = grpc.aio.server(interceptors=[server_interceptor(telemetry)], ...)
    server.add_generic_rpc_handlers((trace_service_handler(telemetry),))
    ...
    telemetry.shutdown()                      # when the server stops

Server side, :func:`server_interceptor` opens one SERVER span per unary RPC (continuing
an incoming W3C ``traceparent``), returns the trace id as ``x-trace-id`` in the response's
trailing metadata (errors included) and records request/error/latency metrics.
Servicers add what they know with :func:`set_result_count`, :func:`set_dataset_ids` and,
only for datasets with ``log_queries``, :func:`set_query`; nothing else of a request
reaches a span.

Client side, the fan-out wraps each peer call in :func:`peer_span` (one CLIENT span per
peer, with ``mesh.peer.id``, ``mesh.peer.country``, ``rpc.grpc.status_code`` and
``mesh.result.count``) and sends :func:`outgoing_metadata` with the request.

HTTP: :class:`TracingMiddleware` does the same for the ASGI app, answering
``traceresponse`` and ``X-Trace-Id`` headers, and serves ``/metrics``. A node without
HTTP serves metrics with :func:`start_metrics_server`.

Retrieval: every process keeps its recent spans in a bounded :class:`SpanBuffer`;
``mesh.v1.TraceService/GetTrace`` (:func:`trace_service_handler`) gives them to callers
whose certificate names the ``operator`` role, and ``allelemesh trace show`` assembles
one tree from every country's answer (:func:`assemble`, :func:`render_tree`).
"""

from mesh.config.telemetry import MetricsConfig, TracingConfig, parse_metrics, parse_tracing
from mesh.tracing._assemble import SpanNode, assemble, render_tree, trace_to_json
from mesh.tracing._client import PeerCall, peer_span, result_count
from mesh.tracing._context import (
    TRACE_ID_METADATA_KEY,
    current_span_attributes,
    current_trace_id,
    outgoing_metadata,
    set_dataset_ids,
    set_query,
    set_result_count,
)
from mesh.tracing._http import TracingMiddleware
from mesh.tracing._metrics import PROMETHEUS_CONTENT_TYPE
from mesh.tracing._server import server_interceptor
from mesh.tracing._setup import Telemetry, metrics_text, setup_tracing, start_metrics_server
from mesh.tracing._spans import JsonlSpanExporter, SpanBuffer, read_jsonl, span_to_proto
from mesh.tracing._trace_service import authorize_trace_reader, trace_service_handler

__all__ = [
    "PROMETHEUS_CONTENT_TYPE",
    "TRACE_ID_METADATA_KEY",
    "JsonlSpanExporter",
    "MetricsConfig",
    "PeerCall",
    "SpanBuffer",
    "SpanNode",
    "Telemetry",
    "TracingConfig",
    "TracingMiddleware",
    "assemble",
    "authorize_trace_reader",
    "current_span_attributes",
    "current_trace_id",
    "metrics_text",
    "outgoing_metadata",
    "parse_metrics",
    "parse_tracing",
    "peer_span",
    "read_jsonl",
    "render_tree",
    "result_count",
    "server_interceptor",
    "set_dataset_ids",
    "set_query",
    "set_result_count",
    "setup_tracing",
    "span_to_proto",
    "start_metrics_server",
    "trace_service_handler",
    "trace_to_json",
]
