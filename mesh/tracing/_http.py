"""ASGI middleware for the HTTP API: a SERVER span per request, trace headers, ``/metrics``.

An incoming ``traceparent`` (the portal's) is continued. Every response carries
``traceresponse: 00-<trace-id>-<span-id>-<flags>`` and ``X-Trace-Id``. The span is
named after the route *template* (``GET /api/v1/frequencies/{variant}``), never the
raw path or query string, which may hold variant coordinates.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from mesh.tracing._context import _start_pending, _take_pending, extract_context
from mesh.tracing._metrics import PROMETHEUS_CONTENT_TYPE, http_method_label
from mesh.tracing._setup import Telemetry, metrics_text

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED_ROUTE = "(unmatched)"


class TracingMiddleware:
    """Pure ASGI middleware; add with ``app.add_middleware(TracingMiddleware, telemetry=t)``."""

    def __init__(
        self, app: ASGIApp, telemetry: Telemetry, metrics_path: str | None = "/metrics"
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.metrics_path = metrics_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == self.metrics_path and scope["method"] in ("GET", "HEAD"):
            await self._serve_metrics(send, head=scope["method"] == "HEAD")
            return
        # Span name and metric label alike: a method token the client made up is "other".
        method = http_method_label(scope["method"])
        started = time.perf_counter()
        parent = extract_context(scope.get("headers"))
        span = self.telemetry.tracer.start_span(
            f"{method}", parent, SpanKind.SERVER, {"http.request.method": method}
        )
        span_context = span.get_span_context()
        trace_id = trace.format_trace_id(span_context.trace_id)
        trace_headers = [
            (
                b"traceresponse",
                f"00-{trace_id}-{trace.format_span_id(span_context.span_id)}-"
                f"{int(span_context.trace_flags):02x}".encode("ascii"),
            ),
            (b"x-trace-id", trace_id.encode("ascii")),
        ]
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), *trace_headers]}
            await send(message)

        context_token = otel_context.attach(trace.set_span_in_context(span, parent))
        pending_token = _start_pending()
        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            # The router has put the matched route in the scope by now.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            span.set_attributes(_take_pending(pending_token))
            span.update_name(f"{method} {route}")
            span.set_attributes({"http.route": route, "http.response.status_code": status})
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
            span.end()
            otel_context.detach(context_token)
            self.telemetry.metrics.record_http(route, method, status, time.perf_counter() - started)

    async def _serve_metrics(self, send: Send, *, head: bool) -> None:
        body = metrics_text(self.telemetry)
        headers = [
            (b"content-type", PROMETHEUS_CONTENT_TYPE.encode("ascii")),
            (b"content-length", str(len(body)).encode("ascii")),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else body})
