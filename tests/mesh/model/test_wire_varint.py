"""``mesh.model.wire.varint`` and its pre-encoded table against protobuf's own encoding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mesh.model import wire
from mesh.v1 import allele_pb2

_AC_TAG = b"\x08"  # AlleleCounts.allele_count (int64)


def _protobuf_varint(value: int) -> bytes:
    encoded = allele_pb2.AlleleCounts(allele_count=value).SerializeToString()
    assert encoded.startswith(_AC_TAG)
    return encoded[1:]


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_varint_matches_protobuf(value):
    if value == 0:
        assert wire.varint(0) == b"\x00"  # proto3 leaves a zero field out
        return
    assert wire.varint(value) == _protobuf_varint(value)


def test_varint_at_every_length_boundary():
    for bits in (7, 14, 21, 28, 35, 63):
        for value in (2**bits - 1, 2**bits):
            if value < 2**63:
                assert wire.varint(value) == _protobuf_varint(value)


def test_small_table_is_the_varint_of_its_index():
    table = wire.SMALL_VARINTS
    assert len(table) == wire.SMALL_VARINT_LIMIT
    for value in (1, 127, 128, 300, 16_383):
        assert table[value] == _protobuf_varint(value)
    assert all(len(table[i]) == (1 if i < 128 else 2) for i in range(len(table)))
