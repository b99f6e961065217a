"""Spans at rest: the in-memory buffer, the ``mesh.v1.Span`` form, JSON-lines files."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from mesh.errors import InvalidArgumentError
from mesh.v1 import trace_service_pb2

#: Resource attribute keys naming the recording process.
NODE_ID_KEY = "mesh.node.id"
COUNTRY_KEY = "mesh.country"
TIER_KEY = "mesh.tier"
SERVICE_NAME_KEY = "service.name"

_KINDS = {
    SpanKind.INTERNAL: trace_service_pb2.SPAN_KIND_INTERNAL,
    SpanKind.SERVER: trace_service_pb2.SPAN_KIND_SERVER,
    SpanKind.CLIENT: trace_service_pb2.SPAN_KIND_CLIENT,
    SpanKind.PRODUCER: trace_service_pb2.SPAN_KIND_PRODUCER,
    SpanKind.CONSUMER: trace_service_pb2.SPAN_KIND_CONSUMER,
}
_STATUSES = {
    StatusCode.UNSET: trace_service_pb2.SPAN_STATUS_CODE_UNSPECIFIED,
    StatusCode.OK: trace_service_pb2.SPAN_STATUS_CODE_OK,
    StatusCode.ERROR: trace_service_pb2.SPAN_STATUS_CODE_ERROR,
}


class SpanBuffer(SpanProcessor):
    """The last ``max_spans`` finished spans of this process, for ``TraceService``.

    ``on_end`` runs on every RPC's path, so it only appends to a bounded deque (atomic
    under the GIL, no lock); the rare lookup by trace id scans the buffer instead
    (10,000 spans take about a millisecond).
    """

    def __init__(self, max_spans: int) -> None:
        self._spans: deque[ReadableSpan] = deque(maxlen=max_spans)

    def on_end(self, span: ReadableSpan) -> None:
        self._spans.append(span)

    def __len__(self) -> int:
        return len(self._spans)

    def spans_of(self, trace_id: int) -> list[ReadableSpan]:
        """Buffered spans of one trace, oldest first."""
        return [
            s for s in list(self._spans) if s.context is not None and s.context.trace_id == trace_id
        ]

    def shutdown(self) -> None:
        self._spans.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def parse_trace_id(value: str, field: str = "trace_id") -> int:
    """A W3C trace id (32 hex digits, not all zero) as an int; :class:`InvalidArgumentError`."""
    text = value.strip().lower()
    if len(text) != 32 or text.strip("0123456789abcdef") or int(text, 16) == 0:
        raise InvalidArgumentError(field, f"{value!r} is not a trace id (32 hex digits)")
    return int(text, 16)


def _attribute_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return ",".join(str(v) for v in value)
    return str(value)


def span_to_proto(span: ReadableSpan) -> trace_service_pb2.Span:
    """The wire form of a finished SDK span (attributes as text, sequences comma-joined)."""
    context, parent = span.context, span.parent
    assert context is not None  # SDK spans always have one
    resource = span.resource.attributes
    return trace_service_pb2.Span(
        trace_id=format_trace_id(context.trace_id),
        span_id=format_span_id(context.span_id),
        parent_span_id=format_span_id(parent.span_id) if parent is not None else "",
        name=span.name,
        kind=_KINDS.get(span.kind, trace_service_pb2.SPAN_KIND_UNSPECIFIED),
        start_time_unix_nano=span.start_time or 0,
        end_time_unix_nano=span.end_time or 0,
        attributes={k: _attribute_text(v) for k, v in (span.attributes or {}).items()},
        status_code=_STATUSES[span.status.status_code],
        status_message=span.status.description or "",
        node_id=str(resource.get(NODE_ID_KEY, "")),
        country=str(resource.get(COUNTRY_KEY, "")),
        service_name=str(resource.get(SERVICE_NAME_KEY, "")),
    )


def span_to_json(span: trace_service_pb2.Span) -> str:
    """One JSON line (proto3 JSON with field names as in the .proto)."""
    return json.dumps(
        json_format.MessageToDict(span, preserving_proto_field_name=True), separators=(",", ":")
    )


class JsonlSpanExporter(SpanExporter):
    """Appends one :func:`span_to_json` line per span; runs in the batch processor's thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        # Opened once, line-buffered appends: concurrent workers' lines never interleave.
        self._file = path.open("a", encoding="utf-8", buffering=1)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(span_to_json(span_to_proto(s)) + "\n" for s in spans)
        with self._lock:
            if self._file.closed:
                return SpanExportResult.FAILURE
            self._file.write(text)
            self._file.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def read_jsonl(paths: Iterable[Path]) -> list[trace_service_pb2.Span]:
    """Every span in the given JSON-lines files; a bad line names its file and line."""
    spans = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidArgumentError("jsonl", f"cannot read {path}: {exc.strerror}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                spans.append(
                    json_format.ParseDict(
                        json.loads(line), trace_service_pb2.Span(), ignore_unknown_fields=True
                    )
                )
            except (ValueError, json_format.ParseError) as exc:
                raise InvalidArgumentError("jsonl", f"{path}:{number}: not a span: {exc}") from None
    return spans
