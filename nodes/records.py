"""The value stored under each index key, laid out so that serving needs little work.

``value = header | VariantFrequency bytes``

* ``header`` is five little-endian uint32: AC, AN, homozygous, heterozygous and
  hemizygous counts of the whole dataset, so pooling a lookup reads 20 bytes with
  one ``struct.unpack`` instead of parsing protobuf.
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
MAX_COUNT = 2**32 - 1


@dataclass(frozen=True, slots=True)
class CountsHeader:
    """The dataset-wide counts of one stored allele."""

    allele_count: int
    allele_number: int
    homozygous: int
    heterozygous: int
    hemizygous: int


def encode_value(frequency: allele_pb2.VariantFrequency) -> bytes:
    """Return the stored value for a frequency (node_id and country must be empty)."""
    counts = frequency.counts
    header = HEADER.pack(
        counts.allele_count,
        counts.allele_number,
        counts.homozygous_count,
        counts.heterozygous_count,
        counts.hemizygous_count,
    )
    return header + frequency.SerializeToString()


def decode_header(value: bytes) -> CountsHeader:
    """Return the counts header of a stored value."""
    return CountsHeader(*HEADER.unpack_from(value))


def decode_frequency(value: bytes) -> allele_pb2.VariantFrequency:
    """Parse the stored frequency (slow path: population filtering, tools, tests)."""
    return allele_pb2.VariantFrequency.FromString(value[HEADER_LEN:])
