"""What a servicer may add to its RPC's server span, and the propagation helpers.

The interceptor puts a plain dict in a contextvar for each recorded RPC and copies it
onto the server span when the RPC ends, so a servicer never touches the span (and
never pays for it when the trace is not sampled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

#: gRPC response metadata key (in the trailing metadata) carrying the trace id.
TRACE_ID_METADATA_KEY = "x-trace-id"
RESULT_COUNT = "mesh.result.count"
DATASET_IDS = "mesh.dataset.ids"
QUERY = "mesh.query"

PROPAGATOR = TraceContextTextMapPropagator()
_CARRIER_KEYS = frozenset(PROPAGATOR.fields)

_PENDING: ContextVar[dict[str, AttributeValue] | None] = ContextVar(
    "mesh_span_attributes", default=None
)


def current_span_attributes() -> dict[str, AttributeValue]:
    """Attributes added to the current RPC's server span when it ends.

    Outside a recorded RPC this is a throw-away dict, so callers need no checks.
    """
    pending = _PENDING.get()
    return pending if pending is not None else {}


def set_result_count(count: int) -> None:
    """``mesh.result.count``: how many frequencies (or datasets) the RPC returned."""
    current_span_attributes()[RESULT_COUNT] = count


def set_dataset_ids(dataset_ids: Iterable[str]) -> None:
    """``mesh.dataset.ids``: the datasets the RPC read."""
    current_span_attributes()[DATASET_IDS] = tuple(dataset_ids)


def set_query(description: str, *, log_queries: bool) -> None:
    """``mesh.query`` (e.g. variant coordinates), only when the dataset opted in to logging."""
    if log_queries:
        current_span_attributes()[QUERY] = description


def current_trace_id() -> str:
    """The current trace id as 32 hex digits ("" outside a trace), e.g. for audit records."""
    span_context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(span_context.trace_id) if span_context.is_valid else ""


def extract_context(pairs: Iterable[tuple[Any, Any]] | None) -> otel_context.Context:
    """The remote parent in gRPC metadata or ASGI headers, or an empty context.

    Only ``traceparent``/``tracestate`` are looked at; everything else (including a
    client-sent ``x-trace-id``) is ignored.
    """
    carrier: dict[str, str] = {}
    for key, value in pairs or ():
        name = key.decode("latin-1").lower() if isinstance(key, bytes) else key
        if name in _CARRIER_KEYS:
            carrier[name] = value.decode("latin-1") if isinstance(value, bytes) else value
    if not carrier:
        return otel_context.Context()
    return PROPAGATOR.extract(carrier, context=otel_context.Context())


def outgoing_metadata(
    base: Sequence[tuple[str, str | bytes]] = (),
) -> tuple[tuple[str, str | bytes], ...]:
    """``base`` plus the current span's ``traceparent`` (and ``tracestate``), for a peer call."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return (*base, *carrier.items())


def _start_pending() -> Any:
    """Give this RPC its own attribute dict; returns the token to reset it."""
    return _PENDING.set({})


def _take_pending(token: Any) -> Mapping[str, AttributeValue]:
    pending = _PENDING.get() or {}
    _PENDING.reset(token)
    return pending
