"""Region page merging against an independent merge, with simulated paging nodes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.federation._region_merge import (
    CursorState,
    NodeCursor,
    NodePage,
    decode_cursors,
    encode_cursors,
    merge_pages,
)
from mesh.v1 import allele_pb2


def freq(node: str, chrom: str, pos: int, alt: str) -> allele_pb2.VariantFrequency:
    return allele_pb2.VariantFrequency(
        node_id=node,
        variant=allele_pb2.Variant(
            chromosome=chrom, position=pos, reference_bases="A", alternate_bases=alt
        ),
    )


class FakeNode:
    """A node that pages its sorted items with offset tokens, like a real one would."""

    def __init__(self, items: list[allele_pb2.VariantFrequency]) -> None:
        self.items = items

    def page(self, token: str, size: int) -> NodePage:
        start = int(token or 0)
        end = start + size
        return NodePage(self.items[start:end], str(end) if end < len(self.items) else "")


node_items = st.lists(
    st.tuples(st.sampled_from(["1", "2", "X"]), st.integers(1, 30), st.sampled_from("CGT")),
    max_size=40,
)


def node_order(items):
    # Each node sorts by its own key: (contig, position) then alt *descending*, so that
    # within a position its order differs from any order the merge could impose.
    codes = {"1": 1, "2": 2, "X": 23}
    return sorted(set(items), key=lambda t: (codes[t[0]], t[1], [-ord(c) for c in t[2]]))


@settings(max_examples=150, deadline=None)
@given(st.lists(node_items, min_size=1, max_size=4), st.integers(1, 9))
def test_paging_yields_the_independent_merge(per_node, page_size):
    names = [f"n{i}" for i in range(len(per_node))]
    nodes = {
        name: FakeNode([freq(name, *t) for t in node_order(items)])
        for name, items in zip(names, per_node, strict=True)
    }
    # Independent answer: stable sort of all items by (contig, position, node rank).
    codes = {"1": 1, "2": 2, "X": 23}
    expected = sorted(
        ((codes[f.variant.chromosome], f.variant.position, rank, i), f)
        for rank, name in enumerate(names)
        for i, f in enumerate(nodes[name].items)
    )
    cursors = [NodeCursor(name) for name in names]
    merged = []
    for _ in range(1000):
        pages = {
            c.source_id: nodes[c.source_id].page(c.token, c.request_size(page_size))
            for c in cursors
            if c.state == CursorState.ACTIVE
        }
        page, cursors = merge_pages(cursors, pages, page_size)
        assert len(page) <= page_size
        merged.extend(f for _, f in page)
        cursors = decode_cursors(encode_cursors(cursors))
        if not any(c.state == CursorState.ACTIVE for c in cursors):
            break
    assert [f.SerializeToString() for f in merged] == [f.SerializeToString() for _, f in expected]


def test_a_node_without_a_page_is_marked_failed():
    nodes = [NodeCursor("a"), NodeCursor("b")]
    page, cursors = merge_pages(nodes, {"a": NodePage([freq("a", "1", 5, "C")], "")}, 10)
    assert [f.node_id for _, f in page] == ["a"]
    assert [c.state for c in cursors] == [CursorState.EXHAUSTED, CursorState.FAILED]


def test_items_beyond_the_cutoff_are_kept_for_the_next_page():
    a = [freq("a", "1", p, "C") for p in (1, 2, 3, 4)]
    b = [freq("b", "1", p, "C") for p in (2, 9)]
    page, cursors = merge_pages(
        [NodeCursor("a"), NodeCursor("b")], {"a": NodePage(a, "tok-a"), "b": NodePage(b, "")}, 3
    )
    assert [(f.node_id, f.variant.position) for _, f in page] == [("a", 1), ("a", 2), ("b", 2)]
    assert (cursors[0].token, cursors[0].consumed) == ("", 2)
    assert (cursors[1].token, cursors[1].consumed) == ("", 1)
