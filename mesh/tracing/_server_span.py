"""SERVER (and the fan-out's CLIENT) spans recorded as one finished :class:`ReadableSpan` each.

An SDK span (``Tracer.start_span`` ... ``end``) costs ~25 µs per RPC: a lock and a
``BoundedAttributes`` per span, attribute validation on every ``set_attribute``, and a
second copy of everything into a new ``ReadableSpan`` at ``end``. The server span's
attributes are all known by the end of the RPC (a dict the servicer fills, see
:mod:`mesh.tracing._context`), so :class:`ServerSpans` decides sampling and ids exactly
as the SDK's tracer does, puts a non-recording span with that context in the
OpenTelemetry context while the RPC runs (child spans, ``traceparent`` for peers and
audit trace ids read it), and at the end hands one ``ReadableSpan`` to the provider's
span processors' ``on_end``. An unsampled RPC creates no span object at all.

What differs from the SDK's spans: processors' ``on_start`` is not called for these
spans (the mesh's processors, :class:`~mesh.tracing.SpanBuffer` and the exporters' batch
processor, do nothing there), and attributes are not validated: the interceptor sets
ints, strings and string tuples only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status
from opentelemetry.util.types import AttributeValue

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_DEFAULT = TraceFlags(TraceFlags.DEFAULT)
_RANDOM = TraceFlags.RANDOM_TRACE_ID
# Decision.is_sampled / is_recording, as sets (the SDK's methods are untyped).
_SAMPLED_DECISIONS = frozenset((Decision.RECORD_AND_SAMPLE,))
_RECORDED = frozenset((Decision.RECORD_ONLY, Decision.RECORD_AND_SAMPLE))


class StartedSpan:
    """One RPC's server span while it runs: its context and what ``end`` records."""

    __slots__ = ("attributes", "context", "kind", "parent", "recording", "start_ns")

    def __init__(
        self,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, AttributeValue] | None,
        kind: SpanKind = SpanKind.SERVER,
    ) -> None:
        self.context = context
        self.kind = kind
        self.parent = parent
        #: ``None`` when not sampled: nothing is recorded.
        self.attributes = attributes
        self.recording = attributes is not None
        self.start_ns = time.time_ns()


class ServerSpans:
    """Starts and ends SERVER spans of one tracer (see the module docstring)."""

    def __init__(self, tracer: trace.Tracer) -> None:
        if not isinstance(tracer, SdkTracer):
            raise TypeError(f"ServerSpans needs an SDK tracer, not {type(tracer).__name__}")
        self._tracer = tracer
        self._sampler = tracer.sampler
        self._ids = tracer.id_generator
        self._processor = tracer.span_processor
        self._scope = tracer._instrumentation_scope
        self._enabled = tracer._is_enabled

    def start(
        self,
        name: str,
        parent: otel_context.Context | None,
        attributes: Mapping[str, AttributeValue],
        kind: SpanKind = SpanKind.SERVER,
    ) -> StartedSpan:
        """Decide sampling and ids for a span named ``name`` under ``parent``.

        ``parent`` ``None``: the current context (a CLIENT span under the RPC's span).
        """
        parent_span = trace.get_current_span(parent).get_span_context()
        if not parent_span.is_valid:
            parent_span_context: SpanContext | None = None
            trace_id = self._ids.generate_trace_id()
            random = self._ids.is_trace_id_random()
        else:
            parent_span_context = parent_span
            trace_id = parent_span.trace_id
            random = parent_span.trace_flags.random_trace_id
        if not self._enabled():
            return StartedSpan(parent_span, None, None, kind)
        result = self._sampler.should_sample(parent, trace_id, name, kind, attributes, ())
        decision = result.decision
        flags = _SAMPLED if decision in _SAMPLED_DECISIONS else _DEFAULT
        if random:
            flags = TraceFlags(flags | _RANDOM)
        context = SpanContext(
            trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=flags,
            trace_state=result.trace_state,
        )
        recorded = dict(result.attributes) if decision in _RECORDED else None
        return StartedSpan(context, parent_span_context, recorded, kind)

    @staticmethod
    def attach(span: StartedSpan, parent: otel_context.Context | None) -> Any:
        """Make ``span`` current (children and peers see it); returns the detach token."""
        current = trace.set_span_in_context(NonRecordingSpan(span.context), parent)
        return otel_context.attach(current)

    def end(self, name: str, span: StartedSpan, status: Status) -> None:
        """Record ``span`` (when sampled) with the attributes gathered while it ran."""
        if span.attributes is None:
            return
        self._processor.on_end(
            ReadableSpan(
                name,
                span.context,
                span.parent,
                self._tracer.resource,
                span.attributes,
                kind=span.kind,
                status=status,
                start_time=span.start_ns,
                end_time=time.time_ns(),
                instrumentation_scope=self._scope,
            )
        )
