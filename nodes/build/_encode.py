"""Index values written by hand in the protobuf wire format (see :mod:`nodes.index.records`).

Building ``VariantFrequency`` messages costs ~45 µs per allele with 20 populations;
writing the wire format from precomputed byte fragments, with encoded
``AlleleCounts`` cached (most populations repeat the same few count tuples), costs a
few µs. The output parses to the same message (tested against protobuf).

A value is ``header | variant | dataset | counts | populations | filters``. Only
``variant`` depends on the allele's position and bases; the rest depends on its
counts alone, so :meth:`ValueEncoder.counts_part` can be computed (and cached) once
per count row and joined with :func:`variant_field` per allele.

Counts have presence (see :mod:`nodes.build.vcf_counts`): a count the source gave is
encoded even when it is 0; :data:`~nodes.build.vcf_counts.ABSENT` is not encoded at all, and
the header stores :data:`nodes.index.records.ABSENT` for it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from mesh.model.variants import VariantKey
from mesh.v1 import allele_pb2
from nodes.build.vcf_counts import Counts, RecordError
from nodes.index import records
from nodes.index.records import MAX_COUNT

_HEADER = struct.Struct("<5I").pack
_DOUBLE = struct.Struct("<d").pack


def _varint_slow(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_VARINTS = [_varint_slow(i) for i in range(1 << 14)]
#: The first two bytes of the varint of any ``n >= 2**14``: its low 14 bits, continued.
_LOW14 = [bytes(((i & 0x7F) | 0x80, (i >> 7) | 0x80)) for i in range(1 << 14)]


def _tagged(tag: bytes) -> list[bytes]:
    """``tag + varint(i)`` for every ``i`` below 2**14 (a 0 too: counts have presence)."""
    return [tag + _VARINTS[i] for i in range(1 << 14)]


_AC, _AN, _HOM, _HET, _HEMI = (_tagged(t) for t in (b"\x08", b"\x10", b"\x20", b"\x28", b"\x30"))


def _body(c: Counts, precision: bytes) -> bytes:
    """The ``AlleleCounts`` body of five known counts: tag+varint tables, one join."""
    ac, an, hom, het, hemi = c[:5]
    return b"".join(
        (
            _AC[ac] if ac < 16384 else b"\x08" + varint(ac),
            _AN[an] if an < 16384 else b"\x10" + varint(an),
            b"\x19" + _DOUBLE(ac / an) if an else b"",
            _HOM[hom] if hom < 16384 else b"\x20" + varint(hom),
            _HET[het] if het < 16384 else b"\x28" + varint(het),
            _HEMI[hemi] if hemi < 16384 else b"\x30" + varint(hemi),
            precision,
        )
    )


def varint(n: int) -> bytes:
    """The protobuf varint of a non-negative int (table lookups below 2**28)."""
    if n < 16384:
        return _VARINTS[n]
    if n < 268_435_456:
        return _LOW14[n & 0x3FFF] + _VARINTS[n >> 14]
    return _varint_slow(n)


def len_field(tag: bytes, body: bytes) -> bytes:
    """A length-delimited field: tag, varint length, body."""
    return tag + varint(len(body)) + body


def chromosome_field(chromosome: str) -> bytes:
    """The encoded ``Variant.chromosome`` field."""
    return len_field(b"\x0a", chromosome.encode())


def variant_field(chrom_field: bytes, position: int, ref: bytes, alt: bytes) -> bytes:
    """The encoded ``VariantFrequency.variant`` field (``chrom_field`` from above)."""
    body = b"".join(
        (
            chrom_field,
            b"\x10",
            varint(position),
            b"\x1a",
            varint(len(ref)),
            ref,
            b"\x22",
            varint(len(alt)),
            alt,
        )
    )
    return b"\x0a" + varint(len(body)) + body


class ValueEncoder:
    """Writes the :mod:`nodes.index.records` value of one allele without protobuf objects."""

    def __init__(self, dataset_id: str, labels: Sequence[str]) -> None:
        self._dataset = len_field(b"\x12", dataset_id.encode())
        self._labels = [len_field(b"\x0a", label.encode()) for label in labels]
        self._counts: dict[Counts, bytes] = {}
        self._chromosomes: dict[str, bytes] = {}
        self._precision = b"\x38" + varint(allele_pb2.COUNT_PRECISION_EXACT)
        # Per group: counts → the whole encoded ``populations`` entry.
        self._entries: list[dict[Counts, bytes]] = [{None: b""} for _ in labels]  # type: ignore[dict-item]

    def _entry(self, g: int, c: Counts) -> bytes:
        cache = self._entries[g]
        if len(cache) > 4096:  # bounded memory: 4096 entries x groups
            cache.clear()
            cache[None] = b""  # type: ignore[index]
        counts = _body(c, self._precision) if _known(c) else self._counts_slow(c)
        label = self._labels[g]
        size = _VARINTS[len(counts)]
        inner = varint(len(label) + len(counts) + 2)
        entry = b"".join((b"\x32", inner, label, b"\x12", size, counts))
        cache[c] = entry
        return entry

    def counts(self, c: Counts) -> bytes:
        """The encoded ``AlleleCounts`` message of one count tuple."""
        body = self._counts.get(c)
        if body is None:
            body = _body(c, self._precision) if _known(c) else self._counts_slow(c)
            if len(self._counts) > 50_000:
                self._counts.clear()  # bounded memory on huge, diverse inputs
            self._counts[c] = body
        return body

    def _counts_slow(self, c: Counts) -> bytes:
        """Counts with absent values, or the source's own AF (``c[5]``) and no AC/AN."""
        ac, an, hom, het, hemi = c[:5]
        parts = []
        if ac >= 0:
            parts.append(b"\x08" + varint(ac))
        if an >= 0:
            parts.append(b"\x10" + varint(an))
        if ac >= 0 and an > 0:
            parts.append(b"\x19" + _DOUBLE(ac / an))
        elif len(c) > 5:
            parts.append(b"\x19" + _DOUBLE(c[5]))
        for tag, value in ((b"\x20", hom), (b"\x28", het), (b"\x30", hemi)):
            if value >= 0:
                parts.append(tag + varint(value))
        parts.append(self._precision)
        return b"".join(parts)

    def counts_part(self, row: Sequence[Counts | None]) -> tuple[bytes, bytes]:
        """Return ``(header, dataset | counts | populations)`` of one count row.

        ``row[0]`` is the total; raises :class:`RecordError` when a count does not fit.
        """
        total = row[0]
        assert total is not None
        if max(total[:5]) > MAX_COUNT:
            raise RecordError(f"a count ({max(total[:5])}) does not fit in 32 bits")
        rest = row[1:]
        # One C-level pass over the per-group caches (an absent group maps to b"").
        entries = list(map(dict.get, self._entries[1:], rest))  # type: ignore[arg-type]
        if None in entries:
            for i, entry in enumerate(entries):
                if entry is None:
                    entries[i] = self._entry(i + 1, rest[i])  # type: ignore[arg-type]
        total_field = self.counts(total)
        header = (
            _HEADER(*total)
            if _known(total)
            else _HEADER(*(v if v >= 0 else records.ABSENT for v in total[:5]))
        )
        return header, b"".join(
            (self._dataset, b"\x2a", varint(len(total_field)), total_field, *entries)  # type: ignore[arg-type]
        )

    def chromosome(self, chromosome: str) -> bytes:
        """The cached encoded chromosome field."""
        field = self._chromosomes.get(chromosome)
        if field is None:
            field = self._chromosomes[chromosome] = chromosome_field(chromosome)
        return field

    def encode(self, variant: VariantKey, row: Sequence[Counts | None], filters: bytes) -> bytes:
        """Return ``header | VariantFrequency`` for one allele; ``row[0]`` is the total."""
        header, tail = self.counts_part(row)
        field = variant_field(
            self.chromosome(variant.chromosome),
            variant.position,
            variant.ref.encode(),
            variant.alt.encode(),
        )
        return b"".join((header, field, tail, filters))


def _known(c: Counts) -> bool:
    """Five counts, every one of them given (the common case: the table path)."""
    return len(c) == 5 and min(c) >= 0


def encode_filters(names: Sequence[str]) -> bytes:
    """The encoded ``filters`` field: nothing for PASS."""
    return b"".join(len_field(b"\x3a", n.encode()) for n in names if n != "PASS")
