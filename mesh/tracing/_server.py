"""The grpc.aio server interceptor: one SERVER span and one metrics record per unary RPC.

grpc.aio interceptors only choose a handler; the work happens in a wrapper around the
handler's ``unary_unary`` behaviour. Wrapped handlers are cached per method, so after
the first call the interceptor costs a dict lookup plus the span itself, which is one
finished ``ReadableSpan`` per sampled RPC and none per unsampled one
(:mod:`mesh.tracing._server_span`). The mTLS port's peer guard runs in the same
interceptor (``guard``).

The trace id goes back in the *trailing* metadata (``x-trace-id``): setting it costs
nothing, while ``send_initial_metadata`` is an extra batch operation that measured ~25 %
of a small RPC's server CPU. The servicer sees a thin context proxy whose ``abort`` and
``set_trailing_metadata`` keep ``x-trace-id`` beside the caller's own trailers (grpc
replaces earlier trailers on ``abort``), so error answers carry it too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
from opentelemetry import context as otel_context
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from mesh.plumbing.rpc import TRACE_SERVICE
from mesh.tracing._context import (
    TRACE_ID_METADATA_KEY,
    _start_pending,
    _take_pending,
    extract_context,
)
from mesh.tracing._server_span import ServerSpans
from mesh.tracing._setup import Telemetry

#: Method prefixes passed through untouched: probes and the trace lookup itself would
#: otherwise flood the span buffer.
UNTRACED_PREFIXES = (
    "/grpc.health.v1.",
    "/grpc.reflection.",
    f"/{TRACE_SERVICE}/",
)
_MAX_CACHED = 256

Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
_UNSET = Status(StatusCode.UNSET)


class Guard(Protocol):
    """Wraps a method handler so every call is checked first (``PeerGuard``)."""

    def wrap(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler: ...


class _TracedContext:
    """The servicer's context, keeping ``x-trace-id`` in whatever trailers it sends."""

    __slots__ = ("_context", "_metadata", "_trailer")

    def __init__(
        self, context: grpc.aio.ServicerContext[Any, Any], trailer: tuple[str, str], metadata: Any
    ) -> None:
        self._context = context
        self._trailer = trailer
        self._metadata = metadata

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def invocation_metadata(self) -> Any:
        """The request's metadata, as read once by the interceptor (grpc copies it per ask)."""
        return self._metadata

    def _with_trailer(self, metadata: Any) -> tuple[tuple[str, Any], ...]:
        pairs = tuple(metadata or ())
        return pairs if self._trailer in pairs else (*pairs, self._trailer)

    def set_trailing_metadata(self, trailing_metadata: Any) -> None:
        self._context.set_trailing_metadata(self._with_trailer(trailing_metadata))

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()
    ) -> None:
        await self._context.abort(code, details, self._with_trailer(trailing_metadata))

    async def abort_with_status(self, status: grpc.Status) -> None:
        await self.abort(status.code, status.details, status.trailing_metadata)


def _status_of(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    code = context.code()
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.OK


class TracingServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """See the module docstring; build with :func:`server_interceptor`."""

    def __init__(
        self,
        telemetry: Telemetry,
        untraced: tuple[str, ...] = UNTRACED_PREFIXES,
        guard: Guard | None = None,
    ) -> None:
        self._telemetry = telemetry
        self._untraced = untraced
        self._guard = guard
        self._spans = ServerSpans(telemetry.tracer)
        self._wrapped: dict[int, tuple[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        cached = self._wrapped.get(id(handler))
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = handler if self._guard is None else self._guard.wrap(handler)
        method: str = handler_call_details.method
        # Streams (health Watch) and probes are not traced; the guard checks them all.
        if handler.unary_unary is not None and not method.startswith(self._untraced):
            wrapped = wrapped._replace(unary_unary=self._wrap(method, wrapped.unary_unary))
        if len(self._wrapped) >= _MAX_CACHED:
            self._wrapped.clear()  # handlers made per call would otherwise grow this
        self._wrapped[id(handler)] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, behavior: Behavior) -> Behavior:
        telemetry = self._telemetry
        spans, metrics = self._spans, telemetry.metrics
        name = method.lstrip("/")
        short = name.rpartition("/")[2]
        # Few attributes (the name has the service).
        attributes: dict[str, AttributeValue] = {
            "rpc.method": short,
            "mesh.node.id": telemetry.node_id,
        }

        async def traced(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            parent = extract_context(metadata)
            span = spans.start(name, parent, attributes)
            context_token = spans.attach(span, parent)
            pending_token = _start_pending() if span.recording else None
            code = grpc.StatusCode.UNKNOWN
            try:
                trailer = (TRACE_ID_METADATA_KEY, f"{span.context.trace_id:032x}")
                context.set_trailing_metadata((trailer,))
                response = await behavior(request, _TracedContext(context, trailer, metadata))
                code = _status_of(context)
                return response
            except grpc.aio.AbortError:
                code = _status_of(context)
                raise
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            finally:
                recorded = span.attributes
                if recorded is not None:
                    if pending_token is not None:
                        recorded.update(_take_pending(pending_token))
                    recorded["rpc.grpc.status_code"] = code.value[0]
                    ok = code is grpc.StatusCode.OK
                    spans.end(name, span, _UNSET if ok else Status(StatusCode.ERROR, code.name))
                otel_context.detach(context_token)
                metrics.record_server(name, code, time.perf_counter() - started)

        return traced


def server_interceptor(
    telemetry: Telemetry, guard: Guard | None = None
) -> grpc.aio.ServerInterceptor:
    """The interceptor to pass to ``grpc.aio.server(interceptors=[...])``.

    ``guard`` (the mTLS port's :class:`~mesh.server.guard.PeerGuard`) runs inside the
    span, in the same interceptor: one interceptor per call instead of two.
    """
    return TracingServerInterceptor(telemetry, guard=guard)
