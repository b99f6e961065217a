"""The value stored under each index key, laid out so that serving needs little work.

``value = header | VariantFrequency bytes``

* ``header`` is five little-endian uint32: AC, AN, homozygous, heterozygous and
  hemizygous counts of the whole dataset, so pooling a lookup reads 20 bytes with
  one ``struct.unpack`` instead of parsing protobuf. :data:`ABSENT` (``2**32 - 1``)
  marks a count the source did not give.
* Every count in the serialized message has explicit presence (proto3 ``optional``):
  a count the source gave is encoded even when it is 0, an unknown one not at all.
* The rest is a serialized ``mesh.v1.VariantFrequency`` with ``variant``,
  ``dataset_id``, ``counts``, ``populations`` and ``filters`` set and ``node_id`` /
  ``country`` left empty. Protobuf concatenation is a merge, so a node serves a
  stored frequency by appending its pre-encoded ``node_id``/``country`` fields: no
  decoding, no re-encoding.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from mesh.v1 import allele_pb2

HEADER = struct.Struct("<5I")
HEADER_LEN = HEADER.size
#: The header value of a count the source did not give.
ABSENT = 2**32 - 1
MAX_COUNT = ABSENT - 1
COUNT_FIELDS = (
    "allele_count",
    "allele_number",
    "homozygous_count",
    "heterozygous_count",
    "hemizygous_count",
)


@dataclass(frozen=True, slots=True)
class CountsHeader:
    """The dataset-wide counts of one stored allele."""

    allele_count: int | None
    allele_number: int | None
    homozygous: int | None
    heterozygous: int | None
    hemizygous: int | None


def encode_value(frequency: allele_pb2.VariantFrequency) -> bytes:
    """Return the stored value for a frequency (node_id and country must be empty)."""
    counts = frequency.counts
    header = HEADER.pack(
        *(getattr(counts, f) if counts.HasField(f) else ABSENT for f in COUNT_FIELDS)  # type: ignore[arg-type]
    )
    return header + frequency.SerializeToString()


def decode_header(value: bytes) -> CountsHeader:
    """Return the counts header of a stored value (``None``: not given)."""
    return CountsHeader(*(None if v == ABSENT else v for v in HEADER.unpack_from(value)))


def decode_frequency(value: bytes) -> allele_pb2.VariantFrequency:
    """Parse the stored frequency (slow path: population filtering, tools, tests)."""
    return allele_pb2.VariantFrequency.FromString(value[HEADER_LEN:])
