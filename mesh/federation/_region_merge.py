"""Merging the nodes' region pages into one genomic-order page, with a composite token.

Each node pages its own region scan. The merged page is a k-way merge by
``(contig code, position, node rank)``: within a node its own order is kept (its key
order within one position may differ from ours), and ties between nodes go to the
lower rank (configuration order, local datasets first).

Resume state is kept per node, precisely: the token of the node page it is on and
how many items of that page were already served. The next merged page re-requests
that node page (asking ``consumed + page_size`` items so at least a page of fresh
items follows) and skips the served ones. Merging stops as soon as a node that has
more to give runs out of buffered items, since its next item could sort before any
other node's; so every variant is served exactly once, in order.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from enum import IntEnum

from mesh.errors import InvalidArgumentError
from mesh.model.genome import CONTIG_CODES
from mesh.model.paging import MAX_PAGE_SIZE
from mesh.v1 import allele_pb2


class CursorState(IntEnum):
    """Where one node stands in a merged region query."""

    ACTIVE = 0
    EXHAUSTED = 1
    #: Failed on an earlier page; skipped (and reported) for the rest of the query.
    FAILED = 2


@dataclass
class NodeCursor:
    """One node's resume point: its own page token and items already served from it."""

    source_id: str
    token: str = ""
    consumed: int = 0
    state: CursorState = CursorState.ACTIVE

    def request_size(self, page_size: int) -> int:
        """Items to ask for so that ``page_size`` fresh ones follow the consumed ones."""
        return min(MAX_PAGE_SIZE, self.consumed + page_size)


@dataclass
class NodePage:
    """What one node returned for its cursor."""

    frequencies: list[allele_pb2.VariantFrequency]
    next_token: str


def encode_cursors(cursors: list[NodeCursor]) -> bytes:
    """Token state: compact JSON (it is signed by the page token codec)."""
    rows = [[c.source_id, c.token, c.consumed, int(c.state)] for c in cursors]
    return json.dumps(rows, separators=(",", ":")).encode("utf-8")


def decode_cursors(state: bytes) -> list[NodeCursor]:
    """Inverse of :func:`encode_cursors`."""
    try:
        rows = json.loads(state)
        return [NodeCursor(str(s), str(t), int(c), CursorState(int(k))) for s, t, c, k in rows]
    except (ValueError, TypeError) as exc:
        # Signed tokens only reach here from a server of another version.
        raise InvalidArgumentError(
            "page_token", f"page token state is unreadable: {exc}", reason="INVALID_PAGE_TOKEN"
        ) from None


def _order_key(frequency: allele_pb2.VariantFrequency) -> tuple[int, int]:
    variant = frequency.variant
    return (CONTIG_CODES.get(variant.chromosome, len(CONTIG_CODES) + 1), variant.position)


def merge_pages(
    cursors: list[NodeCursor], pages: dict[str, NodePage], page_size: int
) -> tuple[list[tuple[str, allele_pb2.VariantFrequency]], list[NodeCursor]]:
    """Merge node pages into one page; return ``(source id, item)`` pairs and new cursors.

    ``cursors`` is in rank order. ``pages`` holds the page fetched for each ACTIVE
    cursor (with the cursor's consumed items still in it); an ACTIVE cursor without
    a page failed and is marked FAILED.
    """
    buffers: dict[str, list[allele_pb2.VariantFrequency]] = {}
    taken: dict[str, int] = {}
    heap: list[tuple[tuple[int, int], int, int, str]] = []
    for rank, cursor in enumerate(cursors):
        page = pages.get(cursor.source_id)
        if cursor.state != CursorState.ACTIVE or page is None:
            continue
        buffers[cursor.source_id] = page.frequencies
        taken[cursor.source_id] = min(cursor.consumed, len(page.frequencies))
        if taken[cursor.source_id] < len(page.frequencies):
            item = page.frequencies[taken[cursor.source_id]]
            heap.append((_order_key(item), rank, taken[cursor.source_id], cursor.source_id))
    heapq.heapify(heap)

    def starved() -> bool:
        # A node with more to give but nothing buffered could hold the next item.
        return any(taken[s] >= len(buffers[s]) and pages[s].next_token for s in buffers)

    merged: list[tuple[str, allele_pb2.VariantFrequency]] = []
    while heap and len(merged) < page_size and not starved():
        _, rank, index, source_id = heapq.heappop(heap)
        merged.append((source_id, buffers[source_id][index]))
        taken[source_id] = index + 1
        if index + 1 < len(buffers[source_id]):
            item = buffers[source_id][index + 1]
            heapq.heappush(heap, (_order_key(item), rank, index + 1, source_id))
    return merged, [_advance(c, pages.get(c.source_id), taken) for c in cursors]


def _advance(cursor: NodeCursor, page: NodePage | None, taken: dict[str, int]) -> NodeCursor:
    if cursor.state != CursorState.ACTIVE:
        return cursor
    if page is None:
        return NodeCursor(cursor.source_id, cursor.token, cursor.consumed, CursorState.FAILED)
    used = taken[cursor.source_id]
    if used < len(page.frequencies):
        return NodeCursor(cursor.source_id, cursor.token, used)
    if page.next_token:
        return NodeCursor(cursor.source_id, page.next_token, 0)
    return NodeCursor(cursor.source_id, "", 0, CursorState.EXHAUSTED)
