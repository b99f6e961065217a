"""One trace from spans gathered in many countries: a tree, its slowest path, text and JSON.

The slowest (critical) path starts at the root that ended last and, at each level,
follows the child that ended last: the one the parent was waiting for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

from mesh.errors import code_name
from mesh.v1 import trace_service_pb2

_KIND_NAMES = {
    trace_service_pb2.SPAN_KIND_SERVER: "server",
    trace_service_pb2.SPAN_KIND_CLIENT: "client",
    trace_service_pb2.SPAN_KIND_INTERNAL: "internal",
}
SLOW_MARK = "*"


@dataclass
class SpanNode:
    """A span with its children (ordered by start time)."""

    span: trace_service_pb2.Span
    children: list[SpanNode] = field(default_factory=list)
    slowest: bool = False

    @property
    def duration_ms(self) -> float:
        """Wall time of the span in milliseconds."""
        return max(0, self.span.end_time_unix_nano - self.span.start_time_unix_nano) / 1e6

    @property
    def status(self) -> str:
        """The gRPC code name, HTTP status, or the span status."""
        attributes = self.span.attributes
        code = attributes.get("rpc.grpc.status_code")
        if code is not None and code.isdigit():
            return code_name(int(code), f"code {code}")
        if "http.response.status_code" in attributes:
            return f"HTTP {attributes['http.response.status_code']}"
        return "ERROR" if self.span.status_code == trace_service_pb2.SPAN_STATUS_CODE_ERROR else "-"


def assemble(spans: Iterable[trace_service_pb2.Span], trace_id: str) -> list[SpanNode]:
    """The roots of ``trace_id``'s tree (duplicates dropped, slowest path marked).

    A span whose parent was not collected (the portal's, or a country not asked)
    becomes a root of its own.
    """
    nodes: dict[str, SpanNode] = {}
    for span in spans:
        if span.trace_id == trace_id.lower() and span.span_id not in nodes:
            nodes[span.span_id] = SpanNode(span)
    roots: list[SpanNode] = []
    for node in nodes.values():
        parent = nodes.get(node.span.parent_span_id)
        (parent.children if parent is not None else roots).append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: n.span.start_time_unix_nano)
    roots.sort(key=lambda n: n.span.start_time_unix_nano)
    _mark_slowest(roots)
    return roots


def _mark_slowest(level: list[SpanNode]) -> None:
    while level:
        last = max(level, key=lambda n: (n.span.end_time_unix_nano, n.duration_ms))
        last.slowest = True
        level = last.children


def _walk(roots: list[SpanNode]) -> Iterable[SpanNode]:
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def _label(node: SpanNode) -> str:
    span = node.span
    where = f"{span.country or '--'} {span.node_id or span.service_name or '?'}"
    kind = _KIND_NAMES.get(span.kind, "span")
    target = ""
    if span.kind == trace_service_pb2.SPAN_KIND_CLIENT and "mesh.peer.id" in span.attributes:
        peer = span.attributes["mesh.peer.id"]
        target = f" -> {span.attributes.get('mesh.peer.country', '--')} {peer}"
    mark = SLOW_MARK if node.slowest else " "
    return f"{mark} [{where}] {kind} {span.name}{target}  {node.status}  {node.duration_ms:.1f} ms"


def render_tree(roots: list[SpanNode], trace_id: str) -> str:
    """The trace as an indented tree, one span a line."""
    every = list(_walk(roots))
    countries = sorted({n.span.country for n in every if n.span.country})
    nodes = {n.span.node_id for n in every}
    total = max((r.duration_ms for r in roots), default=0.0)
    lines = [
        f"trace {trace_id}: {len(every)} spans from {len(nodes)} nodes in "
        f"{len(countries)} countries ({', '.join(countries) or '-'}), {total:.1f} ms",
        f"({SLOW_MARK} marks the slowest path)",
    ]

    def draw(node: SpanNode, prefix: str, tail: str) -> None:
        is_root = not prefix and not tail
        orphan = "  (parent not collected)" if is_root and node.span.parent_span_id else ""
        lines.append(f"{prefix}{tail}{_label(node)}{orphan}")
        child_prefix = prefix + {"": "", "└─ ": "   "}.get(tail, "│  ")
        for i, child in enumerate(node.children):
            draw(child, child_prefix, "└─ " if i == len(node.children) - 1 else "├─ ")

    for root in roots:
        draw(root, "", "")
    return "\n".join(lines)


def trace_to_json(roots: list[SpanNode], trace_id: str) -> dict[str, Any]:
    """The assembled trace as JSON-ready data (nested ``children``, ``slowest`` flags)."""

    def encode(node: SpanNode) -> dict[str, Any]:
        data = json_format.MessageToDict(node.span, preserving_proto_field_name=True)
        data["duration_ms"] = round(node.duration_ms, 3)
        data["slowest"] = node.slowest
        data["children"] = [encode(c) for c in node.children]
        return data

    return {
        "trace_id": trace_id,
        "slowest_path": [n.span.span_id for n in _walk(roots) if n.slowest],
        "roots": [encode(r) for r in roots],
    }
