"""The compiled batch framing (``allelemesh_codec.frame_batch``) against protobuf itself.

Stored values are packed here from known rows (:meth:`~nodes.index.records.ValueCodec.pack`);
the expected ``BatchLookupVariantsResponse`` is built with the generated protobuf classes
from the same rows (AF = AC/AN, absent counts absent), never by the code under test; its
pooled counts are the pooling rule's (``PooledCounts``, tested in
``test_local_pooling_rule``) over each row's total.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.model import wire
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.index.records import ABSENT, MAX_COUNT, ValueCodec
from nodes.serve._batch import encode_stored_batch  # binds the framing keys at import
from nodes.serve._response import NOTHING_POOLED, POOLED_ONE, PooledCounts, pool_one
from tests.guard_page import guarded
from tests.nodes.helpers import row_counts, row_frequency, stored_value

GROUPS = ("", "NO", "NO_F", "NO_M")
EXACT = allele_pb2.COUNT_PRECISION_EXACT
_ = encode_stored_batch
#: The pooled counts of a variant no dataset holds: the pooling rule's, over nothing.
NOTHING = allele_pb2.AlleleCounts.FromString(PooledCounts().encode())


def _variant(i: int) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=str(1 + i % 22), position=1_000 + 7 * i, reference_bases="A",
        alternate_bases="G" if i % 2 else "AT",
    )  # fmt: skip


def _pooled(total: tuple[int, ...]) -> allele_pb2.AlleleCounts:
    """One exact dataset's total through the pooling rule (tested on its own elsewhere)."""
    pool = PooledCounts()
    pool.add(tuple(ABSENT if v == -1 else v for v in total), EXACT)
    return allele_pb2.AlleleCounts.FromString(pool.encode())


def _frame(codec: ValueCodec, store: dict[bytes, object], keys, echoes, suffix=b"", trailer=None):
    return codec.frame_batch(
        store.get, keys, echoes, suffix, POOLED_ONE, pool_one, NOTHING_POOLED, trailer
    )


counts = st.one_of(
    st.just(-1),
    st.sampled_from([0, 1, 255, 256, 65_535, 65_536, MAX_COUNT]),
    st.integers(0, MAX_COUNT),
)
counts5 = st.tuples(counts, counts, counts, counts, counts)
rows = st.one_of(st.none(), st.tuples(counts5), st.tuples(counts5, st.floats(0, 1)))
record = st.tuples(
    st.tuples(counts5),
    st.lists(rows, min_size=3, max_size=3),
    st.lists(st.sampled_from(["AC0", "RF", "AS_VQSR"]), max_size=2, unique=True),
)


@settings(max_examples=150, deadline=None)
@given(records=st.lists(st.one_of(st.none(), record), min_size=0, max_size=12))
def test_a_batch_frames_to_the_protobuf_encoding(records):
    """Every width, presence, rows not found: byte-identical to protobuf's encoding."""
    codec = ValueCodec("ds-1", GROUPS)
    expected = allele_service_pb2.BatchLookupVariantsResponse()
    store: dict[bytes, object] = {}
    keys, echoes = [], []
    for i, held in enumerate(records):
        variant = _variant(i)
        key = b"k%d" % i
        keys.append(key)
        echoes.append(variant.SerializeToString())
        result = expected.results.add(variant=variant)
        if held is None:  # not in the index
            result.pooled.CopyFrom(NOTHING)
            continue
        total, groups, filters = held
        store[key] = memoryview(stored_value(codec, variant, [total, *groups], filters))
        result.frequencies.append(row_frequency(variant, GROUPS, [total, *groups], filters))
        result.pooled.CopyFrom(_pooled(total[0]))
    seen: list[int] = []

    def trailer(found: int) -> bytes:
        seen.append(found)
        return b"\x12\x00"  # an empty outcomes entry

    payload, found = _frame(codec, store, keys, echoes, trailer=trailer)
    held_count = sum(r is not None for r in records)
    assert found == held_count
    assert seen == [held_count]
    assert payload == expected.SerializeToString() + b"\x12\x00"


def test_the_node_suffix_ends_every_frequency_and_pools_are_cached():
    codec = ValueCodec("ds-1", GROUPS)
    suffix = wire.node_identity_fields("node-no", "NO")
    variants = [_variant(i) for i in range(3)]
    rows = [((4, 100, 0, 4, -1),), ((2, 50, 0, 2, 0),), None, None]
    store: dict[bytes, object] = {
        b"a": stored_value(codec, variants[0], rows, []),
        b"c": stored_value(codec, variants[2], rows, ["RF"]),
    }
    echoes = [v.SerializeToString() for v in variants]
    POOLED_ONE.clear()
    payload, found = _frame(codec, store, [b"a", b"b", b"c"], echoes, suffix)
    assert found == 2
    assert len(POOLED_ONE) == 1  # both rows share one total: encoded once
    answer = allele_service_pb2.BatchLookupVariantsResponse.FromString(payload)
    assert [r.variant for r in answer.results] == variants
    first, missing, last = answer.results
    assert (first.frequencies[0].node_id, first.frequencies[0].country) == ("node-no", "NO")
    assert not missing.frequencies
    assert list(last.frequencies[0].filters) == ["RF"]
    assert first.pooled == row_counts((4, 100, 0, 4, -1))
    assert not first.pooled.HasField("hemizygous_count")  # unknown: absent, never 0


def test_a_damaged_value_is_a_value_error_never_a_read_past_its_end():
    codec = ValueCodec("ds-1", GROUPS)
    variant = _variant(1)
    rows = [((5, 70_000, 1, 3, 0),), ((2, 300, 0, 2, 0),), None, ((1, 9, 0, 1, 0), 0.5)]
    value = stored_value(codec, variant, rows, ["RF"])
    echo = [variant.SerializeToString()]
    for cut in range(len(value) - len(b"\x3a\x02RF")):
        store = {b"k": guarded(value[:cut])}
        with pytest.raises(ValueError, match="layout"):
            _frame(codec, store, [b"k"], echo)
    with pytest.raises(ValueError, match="code bits"):
        _frame(codec, {b"k": b"\xff\xff" + value[2:]}, [b"k"], echo)
    # The error stops the batch: nothing half-framed is returned.
    good = stored_value(codec, variant, rows, [])
    with pytest.raises(ValueError, match="total"):
        _frame(codec, {b"a": good, b"b": b"\x00\x00" + value[2:]}, [b"a", b"b"], echo * 2)


def test_mismatched_arguments_are_type_errors():
    codec = ValueCodec("ds-1", GROUPS)
    with pytest.raises(TypeError, match="one length"):
        _frame(codec, {}, [b"a"], [])
    with pytest.raises(TypeError, match="echoes must be bytes"):
        _frame(codec, {}, [b"a"], ["not bytes"])


def test_a_call_inside_a_call_and_a_huge_batch_keep_their_own_buffers():
    """frame_batch keeps its working buffers between calls: a nested call (from a
    callback) gets its own, and a batch past the kept size leaves nothing stale."""
    codec = ValueCodec("ds-1", GROUPS)
    rows = [((5, 70_000, 1, 3, 0),), ((2, 300, 0, 2, 0),), None, ((1, 9, 0, 1, 0), 0.5)]
    variants = [_variant(i) for i in range(40)]
    store = {b"k%d" % i: stored_value(codec, v, rows, ["RF"]) for i, v in enumerate(variants)}
    keys = list(store)
    echoes = [v.SerializeToString() for v in variants]
    alone = _frame(codec, store, keys[:3], echoes[:3])[0]
    inner: list[bytes] = []

    def trailer(found: int) -> bytes:
        inner.append(_frame(codec, store, keys[:3], echoes[:3])[0])
        return b""

    outer = _frame(codec, store, keys, echoes, trailer=trailer)[0]
    assert inner == [alone]
    assert outer == _frame(codec, store, keys, echoes)[0]
    assert outer.startswith(alone)
    times = (9 << 20) // len(outer) + 1  # past the 8 MB kept between calls
    big = _frame(codec, store, keys * times, echoes * times)[0]
    assert len(big) > 8 << 20
    assert big == outer * times
    assert _frame(codec, store, keys[:3], echoes[:3])[0] == alone


def test_long_labels_and_results_of_every_length_width_frame_to_protobuf():
    """Labels too long for the one-byte in-place body, and results whose size takes one,
    two and three bytes (the framing moves them when its 2-byte guess is wrong)."""
    groups = ("", "NO", "L" * 100, "M" * 130)
    codec = ValueCodec("ds-1", groups)
    one = ((3, 700, 0, 3, 0),)
    shapes = [  # (rows, filters): a small, a ~1 KB and a >16 KB result
        ([one, None, None, None], []),
        ([one, one, one, one], ["RF"] * 3),
        ([one, one, None, one], [f"F{i:03d}" * 30 for i in range(150)]),
    ]
    expected = allele_service_pb2.BatchLookupVariantsResponse()
    store, keys, echoes = {}, [], []
    for i, (rows, filters) in enumerate(shapes):
        variant = _variant(i)
        keys.append(b"k%d" % i)
        echoes.append(variant.SerializeToString())
        store[keys[-1]] = stored_value(codec, variant, rows, filters)
        frequency = row_frequency(variant, groups, rows, filters)
        result = expected.results.add(variant=variant, pooled=_pooled(rows[0][0]))
        result.frequencies.append(frequency)
    sizes = [len(r.SerializeToString()) for r in expected.results]
    assert sizes[0] < 128 < sizes[1] < 16_384 < sizes[2]
    assert _frame(codec, store, keys, echoes)[0] == expected.SerializeToString()
