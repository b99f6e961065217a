"""The value stored under each index key: compact counts, expanded to protobuf on serving.

Schema 3 (``nodes.index.index_dir.SCHEMA_VERSION``). The dataset's metadata names its
*groups* once (``DatasetMetadata.groups``: ``""`` for the total, then the population
labels, in stored order), so a value repeats neither labels nor field names::

    value = codes | counts | variant | filters [| extras]

* ``codes``: one little-endian uint16 per group of the dataset. Bits ``2k, 2k+1``
  give the width of count ``k`` (AC, AN, homozygous, heterozygous, hemizygous):
  0 absent (the source did not give it), 1 uint8, 2 uint16, 3 uint32. Bit 10: the
  group also carries the source's own AF (a double, for a row with no AC/AN).
  Bit 11: the group is in this record (code 0: it is not; the total always is).
* ``counts``: the given counts of every group in order, little-endian, at their
  widths (a 0 the source gave is stored; an absent count takes no bytes).
* ``variant`` and ``filters``: the ``VariantFrequency.variant`` and ``filters``
  fields, protobuf-encoded as served; ``extras`` (field 8, gnomAD's grpmax/faf95,
  :mod:`nodes.build._extras`) only where the source has them, copied with the filters.

Serving (:meth:`ValueCodec.frequency`) is a protobuf *encode*, never a decode: the
compiled expander (``allelemesh_codec``, C in ``native/``; in Python the 27 groups of a
gnomAD-like record cost ~15 µs, the floor of per-group dict lookups) reads the codes
and counts and writes ``variant | dataset_id | counts | populations | filters`` in
one pass, AF = AC/AN, every count with presence, and hands the total's counts back
beside the bytes, so pooling parses nothing either. A value that does not match the
layout raises ``ValueError``; nothing reads past its end.

The builder packs rows here (:meth:`ValueCodec.pack`); the expander is the one reader.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from allelemesh_codec import expand, frame_batch, set_keys

from mesh.model import wire
from mesh.v1 import allele_pb2

#: A count the source did not give, in the totals handed to pooling.
ABSENT = 2**32 - 1
MAX_COUNT = ABSENT - 1
COUNT_FIELDS = wire.COUNT_FIELDS
#: Builder rows mark an absent count with -1 (:data:`nodes.build.vcf_counts.ABSENT`).
ROW_ABSENT = -1
_WIDTH_CODE = ("", "B", "H", "I")
_SOURCE_AF = 1 << 10
_PRESENT = 1 << 11
_EXACT = allele_pb2.COUNT_PRECISION_EXACT
_PRECISION = wire.PRECISION_TAG + wire.varint(_EXACT)
# The expander writes protobuf with the keys the descriptors define (one place: wire).
set_keys(
    wire.AC_TAG
    + wire.AN_TAG
    + wire.AF_TAG
    + wire.HOM_TAG
    + wire.HET_TAG
    + wire.HEMI_TAG
    + wire.VARIANT_TAG
    + wire.COUNTS_TAG
    + wire.POPULATIONS_TAG
    + wire.POPULATION_COUNTS_TAG
)
#: Packed cells kept per group while building (count profiles repeat).
_CACHE_MAX = 16384
Row = Sequence[tuple[Any, ...] | None]


def dataset_groups(labels: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """The groups of a dataset built from inputs with these labels: the total, then sorted."""
    return ("", *sorted({label for each in labels for label in each[1:]}))


class RecordValueError(ValueError):
    """A count that cannot be stored (the builder reports it against its record)."""


def _width(value: int) -> int:
    if value < 0:
        if value == ROW_ABSENT:
            return 0
        raise RecordValueError(f"a count is negative ({value})")
    if value < 1 << 8:
        return 1
    if value < 1 << 16:
        return 2
    if value <= MAX_COUNT:
        return 3
    raise RecordValueError(f"a count ({value}) does not fit in 32 bits")


class ValueCodec:
    """The stored value format of one dataset: packs rows at build, expands at serving."""

    def __init__(self, dataset_id: str, groups: Sequence[str]) -> None:
        if not groups or groups[0] != "":
            raise ValueError("groups must start with the total ('')")
        self.dataset_id = dataset_id
        self.groups = list(groups)
        self._codes_len = 2 * len(self.groups)
        self._dataset = wire.string_field(wire.DATASET_ID_TAG, dataset_id)
        self._labels = [wire.len_field(wire.POPULATION_TAG, g.encode()) for g in self.groups]
        # Serving: the compiled expander with this dataset's layout bound (a C call per
        # value: Python's per-group cost was the floor, ~15 µs for 27 groups).
        self._expand = partial(
            expand, len(self.groups), self._dataset, tuple(self._labels), _PRECISION
        )
        self.frequency = self._expand  # type: ignore[method-assign]
        #: The same expander over a whole batch, framing each result in C (see
        #: :func:`nodes.serve._batch.encode_stored_batch`): one call, no per-variant Python.
        self.frame_batch = partial(
            frame_batch, len(self.groups), self._dataset, tuple(self._labels), _PRECISION
        )
        # Building: per group, row counts (-1-marked) -> (code, packed bytes).
        self._cells: list[dict[Any, tuple[bytes, bytes]]] = [
            {None: (b"\x00\x00", b"")} for _ in self.groups
        ]

    # -- building ---------------------------------------------------------------------

    def pack(self, row: Row) -> bytes:
        """``codes | counts`` of one allele's row (``row[g]``: group g's counts or None).

        Raises :class:`RecordValueError` for a count that cannot be stored.
        """
        if row[0] is None:
            raise RecordValueError("the total counts are missing")
        cells = list(map(dict.get, self._cells, row))
        if None in cells:
            for g, cell in enumerate(cells):
                if cell is None:
                    cells[g] = self._cell(g, row[g])  # type: ignore[arg-type]
        return b"".join([c[0] for c in cells] + [c[1] for c in cells])  # type: ignore[index]

    def _cell(self, g: int, counts: tuple[Any, ...]) -> tuple[bytes, bytes]:
        code = _PRESENT
        fmt = "<"
        values = []
        for k, value in enumerate(counts[:5]):
            width = _width(value)
            if width:
                code |= width << (2 * k)
                fmt += _WIDTH_CODE[width]
                values.append(value)
        if len(counts) > 5:
            code |= _SOURCE_AF
            fmt += "d"
            values.append(float(counts[5]))
        cell = (struct.pack("<H", code), struct.pack(fmt, *values))
        cache = self._cells[g]
        if len(cache) < _CACHE_MAX:  # full: keep what is there (no thrashing)
            cache[counts] = cell
        return cell

    # -- serving ----------------------------------------------------------------------

    def frequency(self, value: bytes | memoryview) -> tuple[bytes, tuple[int, ...]]:
        """The stored ``VariantFrequency`` (no node identity) and the total's counts.

        The counts are ``(AC, AN, hom, het, hemi)`` with :data:`ABSENT` for an unknown
        one. Replaced per instance by the compiled expander (see ``__init__``).
        """
        return self._expand(value)

    def decode_frequency(self, value: bytes) -> allele_pb2.VariantFrequency:
        """Parse a stored value (slow path: population filtering, tools, tests)."""
        return allele_pb2.VariantFrequency.FromString(self.frequency(value)[0])

    def encode_value(self, frequency: allele_pb2.VariantFrequency) -> bytes:
        """The stored value of a frequency (tests and tools; the builder uses :meth:`pack`).

        ``node_id``/``country`` must be empty; populations must be groups of the dataset.
        """
        row: list[tuple[Any, ...] | None] = [None] * len(self.groups)
        row[0] = _row_counts(frequency.counts)
        index = {g: i for i, g in enumerate(self.groups)}
        for population in frequency.populations:
            row[index[population.population]] = _row_counts(population.counts)
        variant = wire.len_field(wire.VARIANT_TAG, frequency.variant.SerializeToString())
        filters = b"".join(wire.string_field(wire.FILTERS_TAG, f) for f in frequency.filters)
        return self.pack(row) + variant + filters


def _row_counts(counts: allele_pb2.AlleleCounts) -> tuple[Any, ...]:
    row: tuple[Any, ...] = tuple(
        getattr(counts, f) if counts.HasField(f) else ROW_ABSENT for f in COUNT_FIELDS
    )
    known = counts.HasField("allele_count") and counts.HasField("allele_number")
    if counts.HasField("allele_frequency") and not (known and counts.allele_number):
        row += (counts.allele_frequency,)
    return row


def _after_field(value: bytes, start: int) -> int:
    """The end of the length-delimited field at ``start`` (a length of 128 or more)."""
    shift = length = 0
    i = start + 1
    while True:
        byte = value[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            return i + length
        shift += 7
