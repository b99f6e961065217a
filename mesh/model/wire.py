"""Hand-rolled protobuf encoding for the serving hot path.

Serving a lookup is mostly copying stored ``VariantFrequency`` bytes into a response.
Building protobuf objects for that would decode and re-encode every record, so the
servicers assemble response bytes directly: a length-delimited field is
``tag | varint(len) | payload`` and protobuf parsers merge repeated occurrences, so
concatenation is a valid encoding. Only the few small messages computed per request
(pooled counts, outcomes) are encoded here field by field.

Field numbers below are those of ``protos/mesh/v1/*.proto``; the tests check every
helper against ``SerializeToString`` of the generated classes.
"""

from __future__ import annotations

import struct

from mesh.v1 import allele_pb2

_DOUBLE = struct.Struct("<d")
#: Every varint below this is pre-encoded (two bytes or fewer): lengths of response
#: parts and most counts hit the table, which costs one list index.
SMALL_VARINT_LIMIT = 1 << 14
#: ``SMALL_VARINTS[n]`` is ``varint(n)`` for ``0 <= n < SMALL_VARINT_LIMIT``.
SMALL_VARINTS: list[bytes] = [bytes([i]) for i in range(128)] + [
    bytes(((i & 0x7F) | 0x80, i >> 7)) for i in range(128, SMALL_VARINT_LIMIT)
]
_VARINT_CACHE = SMALL_VARINTS

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2


def tag(field_number: int, wire_type: int) -> bytes:
    """Return the encoded key of a field."""
    return varint((field_number << 3) | wire_type)


def varint(value: int) -> bytes:
    """Return the base-128 varint encoding of a non-negative int (two's complement if < 0)."""
    if 0 <= value < SMALL_VARINT_LIMIT:
        return _VARINT_CACHE[value]
    if SMALL_VARINT_LIMIT <= value < 1 << 21:
        return bytes(((value & 0x7F) | 0x80, ((value >> 7) & 0x7F) | 0x80, value >> 14))
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def len_field(field_tag: bytes, payload: bytes) -> bytes:
    """Return a length-delimited field: ``tag | varint(len) | payload``."""
    return field_tag + varint(len(payload)) + payload


def string_field(field_number: int, text: str) -> bytes:
    """Return a string field, or nothing for the empty string (proto3 default)."""
    if not text:
        return b""
    return len_field(tag(field_number, WIRE_LEN), text.encode("utf-8"))


# AlleleCounts field keys.
_AC = tag(1, WIRE_VARINT)
_AN = tag(2, WIRE_VARINT)
_AF = tag(3, WIRE_FIXED64)
_HOM = tag(4, WIRE_VARINT)
_HET = tag(5, WIRE_VARINT)
_HEMI = tag(6, WIRE_VARINT)
_PRECISION = tag(7, WIRE_VARINT)


def allele_counts(
    allele_count: int | None,
    allele_number: int | None,
    homozygous: int | None,
    heterozygous: int | None,
    hemizygous: int | None,
    precision: int = allele_pb2.COUNT_PRECISION_EXACT,
    allele_frequency: float | None = None,
) -> bytes:
    """Encode a ``mesh.v1.AlleleCounts``; every count has presence (``None``: absent).

    A given count is encoded even when it is 0. AF is AC/AN when both are known and AN
    is not 0, else ``allele_frequency`` (the source's own), else absent.
    """
    parts = []
    if allele_count is not None:
        parts.append(_AC + varint(allele_count))
    if allele_number is not None:
        parts.append(_AN + varint(allele_number))
    if allele_count is not None and allele_number:
        parts.append(_AF + _DOUBLE.pack(allele_count / allele_number))
    elif allele_frequency is not None:
        parts.append(_AF + _DOUBLE.pack(allele_frequency))
    if homozygous is not None:
        parts.append(_HOM + varint(homozygous))
    if heterozygous is not None:
        parts.append(_HET + varint(heterozygous))
    if hemizygous is not None:
        parts.append(_HEMI + varint(hemizygous))
    if precision:
        parts.append(_PRECISION + varint(precision))
    return b"".join(parts)


def node_identity_fields(node_id: str, country: str) -> bytes:
    """Encode ``VariantFrequency.node_id`` (3) and ``country`` (4), appended to stored bytes."""
    return string_field(3, node_id) + string_field(4, country)
