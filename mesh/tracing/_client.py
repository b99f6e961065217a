"""CLIENT spans for the fan-out: one per peer asked, whatever the replicas and hedges.

The span is made current for the ``with`` block, so :func:`outgoing_metadata` called
anywhere inside it (including hedge tasks started there, which copy the context)
injects a ``traceparent`` naming this span as the peer's parent.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping
from types import MappingProxyType, TracebackType

import grpc
from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from mesh.errors import code_name
from mesh.tracing._context import RESULT_COUNT
from mesh.tracing._server_span import ServerSpans, StartedSpan
from mesh.tracing._setup import Telemetry

PEER_ID = "mesh.peer.id"
PEER_COUNTRY = "mesh.peer.country"
GRPC_STATUS_CODE = "rpc.grpc.status_code"


def result_count(response: Message) -> int:
    """How many results a mesh response carries: the one meaning of ``results``.

    Frequency rows (a batch: over all its results), catalogue entries, or 1 (one
    dataset). Spans' ``mesh.result.count`` and audit records' ``results`` both use it,
    like a node's local answers (``LookupResult.frequency_count``).
    """
    fields = response.DESCRIPTOR.fields_by_name
    if "frequencies" in fields:
        return len(response.frequencies)  # type: ignore[attr-defined]
    if "results" in fields:
        return sum(len(r.frequencies) for r in response.results)  # type: ignore[attr-defined,misc]
    if "variants" in fields:  # a gene page: its variants' dataset rows
        return sum(len(v.frequencies) for v in response.variants)  # type: ignore[attr-defined,misc]
    if "datasets" in fields:
        return len(response.datasets)  # type: ignore[attr-defined]
    return 1


class PeerCall:
    """The handle :func:`peer_span` yields: report the peer's answer on it."""

    __slots__ = ("_message", "code", "span")

    def __init__(self, span: StartedSpan) -> None:
        self.span = span
        self.code = grpc.StatusCode.UNKNOWN.value[0]
        self._message = ""

    def set_response(self, response: Message) -> None:
        """The peer answered: status OK and ``mesh.result.count`` from the response."""
        self.code = 0
        if self.span.attributes is not None:
            self.span.attributes[RESULT_COUNT] = result_count(response)

    def set_status(self, code: int | grpc.StatusCode, message: str = "") -> None:
        """The peer's (or the fan-out's) status for this call, e.g. an outcome's ``status.code``."""
        self.code = code.value[0] if isinstance(code, grpc.StatusCode) else int(code)
        self._message = message

    def set_result_count(self, count: int) -> None:
        """Override ``mesh.result.count``."""
        if self.span.attributes is not None:
            self.span.attributes[RESULT_COUNT] = count

    def _finish(self) -> tuple[str, Status]:
        name = code_name(self.code)
        if self.span.attributes is not None:
            self.span.attributes[GRPC_STATUS_CODE] = self.code
        if self.code == 0:
            return name, _UNSET
        return name, Status(StatusCode.ERROR, f"{name}: {self._message}"[:200])


def peer_span(telemetry: Telemetry, *, peer_id: str, country: str, method: str) -> PeerSpan:
    """A CLIENT span for one call to one peer (``method``: full gRPC path or its name).

    Never put request content in it: the peer's id, country, status and result count
    are all it records. Peer metrics (outcome, latency) are recorded on exit. Like the
    server's spans (:mod:`mesh.tracing._server_span`) it is one finished ``ReadableSpan``
    when sampled and no span object when not; while the block runs, a span with its
    context is current, so :func:`outgoing_metadata` names it as the peer's parent.
    """
    return PeerSpan(telemetry, peer_id, country, method)


class PeerSpan:
    """:func:`peer_span`'s context manager; ``with`` yields the :class:`PeerCall`.

    A plain class, no generator: the fan-out enters one per peer per request.
    """

    __slots__ = ("_call", "_country", "_name", "_peer_id", "_started", "_telemetry", "_token")

    def __init__(self, telemetry: Telemetry, peer_id: str, country: str, method: str) -> None:
        self._telemetry, self._peer_id, self._country = telemetry, peer_id, country
        self._name = method.lstrip("/")

    def __enter__(self) -> PeerCall:
        name = self._name
        span = _spans(self._telemetry.tracer).start(
            name, None, _start_attributes(self._peer_id, self._country, name), SpanKind.CLIENT
        )
        self._call = PeerCall(span)
        self._token = ServerSpans.attach(span, None)
        self._started = time.perf_counter()
        return self._call

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        call = self._call
        if exc_type is not None:
            if issubclass(exc_type, asyncio.CancelledError):
                call.set_status(grpc.StatusCode.CANCELLED, "cancelled")
            else:
                call.set_status(grpc.StatusCode.UNKNOWN, exc_type.__name__)
        outcome, status = call._finish()
        _spans(self._telemetry.tracer).end(self._name, call.span, status)
        otel_context.detach(self._token)
        self._telemetry.metrics.record_peer(
            self._peer_id, self._country, self._name, outcome, time.perf_counter() - self._started
        )


_UNSET = Status(StatusCode.UNSET)


@functools.lru_cache(maxsize=64)
def _spans(tracer: trace.Tracer) -> ServerSpans:
    # One recorder per process's tracer (a handful: one per Telemetry).
    return ServerSpans(tracer)


@functools.lru_cache(maxsize=4096)
def _start_attributes(peer_id: str, country: str, name: str) -> Mapping[str, str]:
    # Per (peer, method), made once: the span copies the mapping when it records.
    return MappingProxyType(
        {
            PEER_ID: peer_id,
            PEER_COUNTRY: country,
            "rpc.system": "grpc",
            "rpc.method": name.rpartition("/")[2],
        }
    )
