"""The stored value format (schema 3, nodes.index.records) against protobuf itself.

Expected messages are built here with the generated protobuf classes from the same
counts, never by the codec: a packed row expanded by the compiled expander must give
exactly ``SerializeToString()`` of that message (absent counts absent, zeros kept).
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.errors import IndexStoreError
from mesh.v1 import allele_pb2
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from nodes.index.records import ABSENT, MAX_COUNT, RecordValueError, ValueCodec
from nodes.serve.store import DatasetIndex
from tests.nodes.helpers import counts_by_label, lookup, row_frequency, stored_value
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

GROUPS = ("", "NO", "NO_F", "NO_M")
VARIANT = allele_pb2.Variant(
    chromosome="X", position=2_000_000, reference_bases="A", alternate_bases="AT"
)


def _expected(rows: list, filters: list[str]) -> allele_pb2.VariantFrequency:
    return row_frequency(VARIANT, GROUPS, rows, filters)


def _value(codec: ValueCodec, rows: list, filters: list[str]) -> bytes:
    return stored_value(codec, VARIANT, rows, filters)


def test_presence_round_trip_absent_is_not_zero():
    codec = ValueCodec("ds-1", GROUPS)
    rows = [
        ((5, 100, 1, 3, -1),),  # total: hemizygous unknown
        ((0, 40, 0, 0, 0),),  # NO: every count given, all zeros
        None,  # NO_F: not in this record
        ((-1, -1, -1, -1, -1), 0.125),  # NO_M: only the source's AF (a GDI AF_<L> row)
    ]
    value = _value(codec, rows, ["AC0"])
    stored, total = codec.frequency(value)
    expected = _expected(rows, ["AC0"])
    assert stored == expected.SerializeToString()
    assert total == (5, 100, 1, 3, ABSENT)
    decoded = codec.decode_frequency(value)
    zeros = decoded.populations[0].counts
    assert zeros.HasField("hemizygous_count")
    assert zeros.hemizygous_count == 0
    assert not decoded.counts.HasField("hemizygous_count")
    assert [p.population for p in decoded.populations] == ["NO", "NO_M"]
    only_af = decoded.populations[1].counts
    assert not only_af.HasField("allele_count")
    assert only_af.allele_frequency == 0.125
    assert codec.encode_value(expected) == value


counts = st.one_of(
    st.just(-1),
    st.sampled_from([0, 1, 255, 256, 65_535, 65_536, MAX_COUNT]),
    st.integers(0, MAX_COUNT),
)
rows = st.one_of(
    st.none(),
    st.tuples(st.tuples(counts, counts, counts, counts, counts)),
    st.tuples(st.tuples(counts, counts, counts, counts, counts), st.floats(0, 1)),
)


@settings(max_examples=300, deadline=None)
@given(
    total=st.tuples(st.tuples(counts, counts, counts, counts, counts)),
    groups=st.lists(rows, min_size=3, max_size=3),
    filters=st.lists(st.sampled_from(["AC0", "RF", "AS_VQSR"]), max_size=2, unique=True),
)
def test_any_row_expands_to_the_protobuf_encoding(total, groups, filters):
    codec = ValueCodec("ds-1", GROUPS)
    rows = [total, *groups]
    value = _value(codec, rows, filters)
    stored, got_total = codec.frequency(value)
    assert stored == _expected(rows, filters).SerializeToString()
    assert got_total == tuple(ABSENT if v == -1 else v for v in total[0])
    assert codec.frequency(memoryview(value))[0] == stored  # zero-copy reads too


def test_counts_that_cannot_be_stored_are_record_errors():
    codec = ValueCodec("ds-1", GROUPS)
    with pytest.raises(RecordValueError, match="does not fit in 32 bits"):
        codec.pack([(MAX_COUNT + 1, 10, 0, 0, 0), None, None, None])
    with pytest.raises(RecordValueError, match="negative"):
        codec.pack([(1, 10, -2, 0, 0), None, None, None])


def test_a_damaged_value_is_a_value_error_never_a_crash():
    codec = ValueCodec("ds-1", GROUPS)
    rows = [((5, 70_000, 1, 3, 0),), ((2, 300, 0, 2, 0),), None, ((1, 9, 0, 1, 0), 0.5)]
    value = _value(codec, rows, ["RF"])
    # Every cut short of the variant's end (the filters after it are copied as stored).
    for cut in range(len(value) - len(b"\x3a\x02RF")):
        with pytest.raises(ValueError, match="layout"):
            codec.frequency(value[:cut])
    with pytest.raises(ValueError, match="code bits"):
        codec.frequency(b"\xff\xff" + value[2:])
    with pytest.raises(ValueError, match="total"):
        codec.frequency(b"\x00\x00" + value[2:])
    other = ValueCodec("ds-1", ("", "NO"))  # a layout with fewer groups: no crash either
    for cut in range(len(value) + 1):
        with contextlib.suppress(ValueError):
            other.frequency(value[:cut])


def test_older_schemas_and_layoutless_indexes_say_rebuild(tmp_path):
    (tmp_path / "dataset.json").write_text(json.dumps({"schema_version": 2}))
    with pytest.raises(IndexStoreError, match="rebuild it with `allelemesh index build`"):
        read_metadata(tmp_path)


def test_inputs_with_different_groups_share_one_layout(tmp_path):
    """Per-chromosome files of one dataset naming different groups: one layout, each kept."""
    one = write_sites_vcf(
        tmp_path / "c1.vcf",
        [SiteRecord("1", 100, "A", ["G"], GroupCounts(10, [1], [0]), {"SE": GroupCounts(4, [1])})],
        ["SE"],
        style="gdi",
        bgzip=True,
    )
    two = write_sites_vcf(
        tmp_path / "c2.vcf",
        [SiteRecord("2", 200, "C", ["T"], GroupCounts(20, [3], [1]), {"NO": GroupCounts(8, [2])})],
        ["NO"],
        style="gdi",
        bgzip=True,
    )
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[one, two], dataset_id="ds", out=out))
    metadata = read_metadata(out)
    assert metadata.groups == ["", "NO", "SE"]
    first = counts_by_label(lookup(out, "1", 100, "A", "G"))
    second = counts_by_label(lookup(out, "2", 200, "C", "T"))
    assert set(first) == {"", "SE"}
    assert first["SE"][:2] == (1, 4)
    assert set(second) == {"", "NO"}
    assert second["NO"][:2] == (2, 8)
    index = DatasetIndex(out)  # the node's reader serves them through the same layout
    try:
        assert index.codec.groups == ["", "NO", "SE"]
    finally:
        index.close()
