"""Sites VCF text read without pysam records: the builder's fast path.

Per record, pysam decodes every INFO field into Python objects; with gnomAD-style
files (80+ count fields) that, not the counting, is most of the time. This reader
splits the line itself and takes only the fields the INFO convention needs:

* :mod:`nodes.build._info_text` finds the needed values by the INFO *layout* and
  counts them as :class:`~nodes.build.vcf_counts.InfoCounter` does;
* the encoded count part of a value depends on the INFO text alone, so it is
  cached by that text (while the cache keeps paying for itself);
* single-base substitutions need no trimming and only a range check, so they skip
  :func:`~mesh.model.variants.validate_variant` and :func:`~mesh.model.normalize.normalize`;
  every other allele goes through them.

Anything outside the plain grammar (a value pysam would read differently, a
repeated key, a malformed line) is handed to pysam one record at a time, so the
items and the errors are the pysam path's (tested byte for byte).
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from allelemesh_codec import pack_counts, pack_lines

from mesh.errors import IndexBuildError, InvalidArgumentError
from mesh.model.genome import CONTIG_CODES, contig_length
from mesh.model.normalize import normalize, trim
from mesh.model.variants import validate_variant
from mesh.model.wire import ALTERNATE_BASES_TAG, POSITION_TAG, REFERENCE_BASES_TAG, VARIANT_TAG
from nodes.build import _vcf_text
from nodes.build._encode import encode_filters, variant_field, varint
from nodes.build._info_text import (
    CountCache,
    FallbackError,
    InfoText,
    integer_problem,
    shared_cache,
)
from nodes.build._reader import (
    HOLDBACK_BP,
    TICK,
    Config,
    Emit,
    PysamReader,
    Stats,
    Task,
    allele_kind,
    open_vcf,
)
from nodes.build.genotype_counts import is_haploid_for_males
from nodes.build.vcf_counts import RecordError
from nodes.index.keys import ALLELE_SEPARATOR, MAX_INLINE_ALLELES, encode_key

if TYPE_CHECKING:
    from allelemesh_codec._pack import Packer

_PREFIX = struct.Struct(">BI").pack
_RANGE_BYTES = 2 << 20  # compressed bytes per parallel task
_ACGT = re.compile(rb"[ACGT]+")
_ODD = re.compile(rb"[<*\[\].]")  # an ALT that may not be bases: see allele_kind
_SNV = {(r, a): r + b">" + a for r in (b"A", b"C", b"G", b"T") for a in (b"A", b"C", b"G", b"T")}
_SNV_PARTS = {
    pair: b"\x1a\x01" + pair[0] + b"\x22\x01" + pair[1] for pair in _SNV if pair[0] != pair[1]
}


class _Contig:
    """What the fast path needs about one contig name of the file."""

    __slots__ = ("canonical", "code", "field", "length", "name", "sex")

    def __init__(self, name: str, canonical: str, field: bytes, length: int) -> None:
        self.name = name
        self.canonical = canonical
        self.code = CONTIG_CODES[canonical]
        self.field = field
        self.length = length
        self.sex = canonical in ("X", "Y")


class _Counted:
    """The cached outcome of one INFO text: per allele ``(header, tail)`` or an error."""

    __slots__ = ("n_alt", "parts", "size", "total_an")

    def __init__(
        self, n_alt: int, total_an: int, parts: list[tuple[bytes, bytes] | str], size: int
    ) -> None:
        self.n_alt = n_alt
        self.total_an = total_an
        self.parts = parts
        self.size = size


def text_readable(reader: PysamReader) -> bool:
    """Whether the fast path reads this file: VCF text, INFO counts of Integer keys.

    Any declared Number (A, R, G, 1, .) and vt's allele tags: the text is read here and
    counted by the same :class:`~nodes.build.vcf_counts.InfoCounter`.
    """
    if not reader.config.fast_text or reader.info is None or reader.extras is not None:
        return False  # gnomAD v4's grpmax/faf95 (nodes.build._extras) are read by pysam
    vcf = reader.vcf
    if vcf.format != "VCF" or vcf.compression not in ("NONE", "GZIP", "BGZF"):
        return False
    af = {f.af for _, f in reader.info.convention.groups if f.ac is None}
    for key in reader.info.needed_keys():
        if vcf.header.info[key].type != ("Float" if key in af else "Integer"):
            return False
    return True


def refuse_unreadable_g(reader: PysamReader) -> None:
    """A Number=G INFO count cannot be read by pysam (BCF, or text this reader leaves)."""
    if reader.info is None:
        return
    for key in reader.info.needed_keys():
        if reader.vcf.header.info[key].number == "G":
            raise IndexBuildError(
                f"{reader.path}: INFO {key} is Number=G, which htslib reads only in FORMAT: "
                "build from the VCF text (bgzipped), whose INFO the builder reads itself",
                reason="HEADER_NUMBER",
            )


class TextReader(PysamReader):
    """A :class:`PysamReader` that reads sites VCF text itself when it can."""

    def __init__(
        self,
        config: Config,
        file_index: int,
        reference: Any = None,
        caches: dict[bytes, CountCache] | None = None,
    ) -> None:
        """``caches``: INFO caches shared with the other files of the dataset, by header."""
        super().__init__(config, file_index, reference)
        self.text = text_readable(self)
        if not self.text:
            refuse_unreadable_g(self)
            return
        assert self.info is not None
        scalar = {k for k in self.info.needed_keys() if self.vcf.header.info[k].number == 1}
        #: Split by vt: a line's counts depend on its ALT too (the cache key holds it).
        self._vt = bool(self._vt_tags)
        floats = {k for k in self.info.needed_keys() if self.vcf.header.info[k].type == "Float"}
        self._info_text = InfoText(self.info, scalar, self._vt_tags, floats)
        self._integer_keys = tuple(k for k in self.info.needed_keys() if k not in floats)
        self._contig_info: dict[bytes, _Contig | str] = {}
        self._filter_bytes: dict[bytes, bytes] = {}
        self._header_text = str(self.vcf.header).encode()
        self._cache = shared_cache(caches, self._header_text)
        self._compression: str = self.vcf.compression
        self._batch: list[bytes] = []
        self._batch_seen: int | None = None
        self._packer: Callable[[bytes, int, bool], Any] | None = None

    # ------------------------------------------------------------------ tasks

    def splittable(self) -> bool:
        """BGZF text splits by byte ranges (no index needed); else as pysam."""
        return (self.text and self._compression == "BGZF") or super().splittable()

    def tasks(self, file_index: int) -> list[Task]:
        """Byte ranges of BGZF text; contig windows otherwise."""
        if not (self.text and self._compression == "BGZF"):
            return super().tasks(file_index)
        size = os.path.getsize(self.path)
        return [
            Task(file_index, start=start, byte_end=min(size, start + _RANGE_BYTES))
            for start in range(0, size, _RANGE_BYTES)
        ]

    # ------------------------------------------------------------------ reading

    def run(self, task: Task, emit: Emit, stats: Stats, tick: Callable[[int], None]) -> None:
        """Read the task's records, calling ``emit`` for every allele kept."""
        if not self.text or task.contig is not None:
            super().run(task, emit, stats, tick)
            return
        # The encoder (the dataset's group layout) is set after the reader opens.
        compiled = self._info_text.compiled_packer(self.encoder.picks)
        self._packer = None if compiled is None else partial(pack_counts, compiled)
        plain = None if compiled is None else self._plain_lines(compiled, emit)
        if task.byte_end is not None:
            with open(self.path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                start = _vcf_text.block_start(handle, task.start, size)
                end = _vcf_text.block_start(handle, task.byte_end, size)
            batches = _vcf_text.range_lines(self.path, start, end) if start < end else iter(())
        else:
            batches = _vcf_text.line_batches(self.path, self._compression)
        last = b""
        seen = 0
        data = _vcf_text.data_lines(batches)
        if task.limit is not None:
            data = _vcf_text.limited(data, task.limit)
        numbered = task.whole_file
        self._at = self._batch_seen = None
        lines_read = 0
        while True:
            try:
                lines = next(data, None)
            except (OSError, ValueError) as exc:
                raise self.read_error(exc, _where(last)) from exc
            if lines is None:
                break
            if numbered:  # per batch, not per line: a problem finds its line by identity
                self._batch, self._batch_seen = lines, lines_read
                lines_read += len(lines)
            i, n = 0, len(lines)
            while i < n:
                if plain is not None:  # plain lines in C, up to the first it declines
                    done, alleles, max_an = plain(lines, i)
                    if done > i:
                        stats.alleles += alleles
                        stats.max_an = max(stats.max_an, max_an)
                        for _ in range((seen + done - i) // TICK - seen // TICK):
                            tick(TICK)
                        seen += done - i
                        last = lines[done - 1]
                        i = done
                        if i == n:
                            break
                line = lines[i]
                i += 1
                seen += 1
                if seen % TICK == 0:
                    tick(TICK)
                if not self._line(line, emit, stats):
                    seen -= 1 - self._fallback(line, emit, stats, last)
                last = line
        stats.records += seen
        tick(seen % TICK)

    def _plain_lines(self, compiled: Packer, emit: Emit) -> Callable[[list[bytes], int], Any]:
        """``allelemesh_codec.pack_lines`` bound to this file and ``emit``.

        ``(lines, start)`` -> ``(next, alleles, max AN)``: the lines from ``start`` up to
        ``next`` emitted, ``lines[next]`` (if any) left to :meth:`_line`. It reads the
        contigs and filters this reader has resolved (so a new one, and its error, comes
        through :meth:`_line` first) and declines what :meth:`_line` would not take as a
        plain SNV or :meth:`_plain_allele` allele.
        """
        layout = (
            HOLDBACK_BP,
            MAX_INLINE_ALLELES,
            self.reference is None,  # else indels may left-align: normalize
            VARIANT_TAG,
            POSITION_TAG,
            REFERENCE_BASES_TAG,
            ALTERNATE_BASES_TAG,
            ALLELE_SEPARATOR.encode(),
        )
        return partial(
            pack_lines, compiled, self._contig_info, self._filter_bytes, emit, self.path, layout
        )

    def _line(self, line: bytes, emit: Emit, stats: Stats) -> bool:
        """Emit one line's items; ``False``: the line needs :meth:`_fallback`."""
        cols = line.split(b"\t", 8)
        if len(cols) < 8:
            return False
        chrom_b, pos_b, id_b, ref_b, alt_b, _, filt_b, info_b = cols[:8]
        if not pos_b.isdigit() or not alt_b or not ref_b:
            return False
        contig = self._contig_info.get(chrom_b)
        if contig is None:
            contig = self._contig_of(chrom_b)
        pos = int(pos_b)
        try:
            if type(contig) is str:
                raise RecordError(contig)
            assert isinstance(contig, _Contig)
            if (ref_b, alt_b) not in _SNV and _ODD.search(alt_b) is not None:
                kinds = [allele_kind(a) for a in alt_b.decode(errors="replace").split(",")]
                if stats.skip_record(kinds):
                    return True
            n_alt = alt_b.count(b",") + 1
            haploid = contig.sex and is_haploid_for_males(
                contig.canonical, pos, self.config.assembly
            )
            if info_b[-1:] == b"\r":
                info_b = info_b[:-1]
            packed = None
            if self._packer is not None:
                packed = self._packer(info_b, n_alt, haploid)  # plain counts, compiled
            if packed is not None:
                total_an, parts = packed
            else:
                cache_key = info_b + b"\t" + alt_b if self._vt else info_b
                cache = self._cache
                counted = cache.entries.get((cache_key, haploid)) if cache.enabled else None
                if counted is None or counted.n_alt != n_alt:
                    counted = self._count(info_b, n_alt, haploid, cache_key, alt_b)
                else:
                    cache.hits += 1
                total_an, parts = counted.total_an, counted.parts
            stats.max_an = max(stats.max_an, total_an)
            filters = self._filter_bytes.get(filt_b)
            if filters is None:
                filters = self._filters_of(filt_b)
            origin = (self.path, contig.name, pos, id_b)
            floor = _PREFIX(contig.code, max(0, pos - HOLDBACK_BP))
            if n_alt == 1:
                snv = _SNV_PARTS.get((ref_b, alt_b))
                if snv is not None and 0 < pos <= contig.length:
                    part = parts[0]
                    if isinstance(part, str):
                        raise RecordError(part)
                    header, tail = part
                    body = b"".join((contig.field, POSITION_TAG, varint(pos), snv))
                    size = bytes((len(body),))  # a single SNV's Variant is < 128 bytes
                    value = b"".join((header, VARIANT_TAG, size, body, tail, filters))
                    stats.alleles += 1
                    emit(_PREFIX(contig.code, pos) + _SNV[ref_b, alt_b], value, origin, floor)
                    return True
            items = self._alleles(contig, pos, ref_b, alt_b, parts, filters, stats)
            if items is None:
                return False
        except (RecordError, InvalidArgumentError) as exc:
            if not self.config.skip:
                raise self.record_error(exc, _where(line)) from None
            stats.skip_invalid(self.problem(exc, _where(line), self._number(line)))
            return True
        except FallbackError:
            return False
        stats.alleles += len(items)
        for key, value in items:
            emit(key, value, origin, floor)
        return True

    def _alleles(
        self,
        contig: _Contig,
        pos: int,
        ref_b: bytes,
        alt_b: bytes,
        parts: Sequence[Any],
        filters: bytes,
        stats: Stats,
    ) -> list[tuple[bytes, bytes]] | None:
        """The (key, value) of every ALT of a line that is no single SNV (``None``: fall back).

        Symbolic, star and breakend ALTs are counted as skipped; an allele that is not
        plain upper-case ACGT goes through :func:`validate_variant` and :func:`normalize`.
        """
        alts = alt_b.split(b",")
        if not (ref_b.isascii() and alt_b.isascii()) or b"" in alts:
            return None
        items = []
        for a, alt in enumerate(alts):
            if alt[:1] in (b"<", b"*", b".") or b"[" in alt or b"]" in alt or alt[-1:] == b".":
                stats.skip(str(allele_kind(alt.decode(errors="replace"))))
                continue
            item = self._plain_allele(contig, pos, ref_b, alt)
            if item is None:
                valid = validate_variant(
                    contig.canonical, pos, ref_b.decode(), alt.decode(), self.config.assembly
                )
                variant = normalize(valid, self.reference)
                key = encode_key(variant)
                field = variant_field(
                    self.encoder.chromosome(variant.chromosome),
                    variant.position,
                    variant.ref.encode(),
                    variant.alt.encode(),
                )
            else:
                key, field = item
            part = parts[a]
            if isinstance(part, str):
                raise RecordError(part)
            items.append((key, b"".join((part[0], field, part[1], filters))))
        return items

    def _plain_allele(
        self, contig: _Contig, pos: int, ref: bytes, alt: bytes
    ) -> tuple[bytes, bytes] | None:
        """Key and variant field of an upper-case ACGT allele ``validate_variant`` accepts.

        ``None``: anything else (other bases, out of range, left-alignment, long
        alleles), for the full :func:`validate_variant` and :func:`normalize`.
        """
        if (
            self.reference is not None
            or ref == alt
            or _ACGT.fullmatch(ref) is None
            or _ACGT.fullmatch(alt) is None
            or pos < 1
            or pos + len(ref) - 1 > contig.length
            or len(ref) + len(alt) >= MAX_INLINE_ALLELES
        ):
            return None
        pos, ref, alt = trim(pos, ref, alt)  # type: ignore[arg-type,assignment]
        key = _PREFIX(contig.code, pos) + ref + b">" + alt
        return key, variant_field(contig.field, pos, ref, alt)

    def _fallback(self, line: bytes, emit: Emit, stats: Stats, last: bytes) -> int:
        """Read one line with pysam (whatever it makes of it); return the records read."""
        cols = line.split(b"\t", 8)
        problem = integer_problem(cols[7], self._integer_keys) if len(cols) > 7 else None
        if problem is not None:  # htslib would truncate the fraction, silently
            if not self.config.skip:
                raise self.record_error(RecordError(problem), _where(line))
            stats.skip_invalid(self.problem(RecordError(problem), _where(line), self._number(line)))
            return 1
        with _vcf_text.one_record_file(self._header_text + line + b"\n") as path:
            vcf = open_vcf(path)
            try:
                records = list(vcf)
            except (OSError, ValueError) as exc:
                raise self.read_error(exc, _where(last)) from exc
            finally:
                vcf.close()
        self._at = self._number(line)
        for rec in records:
            self.record(rec, emit, stats, f"{rec.chrom}:{rec.pos}")
        self._at = None
        return len(records)

    def _number(self, line: bytes) -> int | None:
        """The data-line number of a line of the current batch (whole-file tasks)."""
        if self._batch_seen is None:
            return None
        for i, other in enumerate(self._batch):
            if other is line:
                return self._batch_seen + i + 1
        return None

    # ------------------------------------------------------------------ pieces

    def _contig_of(self, chrom_b: bytes) -> _Contig | str:
        name = chrom_b.decode(errors="surrogateescape")
        try:
            canonical = self.contig(name)
        except RecordError as exc:
            info: _Contig | str = str(exc)
        else:
            field = self.encoder.chromosome(canonical)
            info = _Contig(name, canonical, field, contig_length(canonical, self.config.assembly))
        if len(self._contig_info) < 10_000:
            self._contig_info[chrom_b] = info
        return info

    def _filters_of(self, filt_b: bytes) -> bytes:
        try:
            names = () if filt_b == b"." else tuple(filt_b.decode().split(";"))
        except UnicodeDecodeError:
            raise FallbackError from None  # not UTF-8: pysam's reading (and its error)
        filters = self._filter_bytes[filt_b] = encode_filters(names)
        return filters

    def _count(
        self, info_b: bytes, n_alt: int, haploid: bool, cache_key: bytes, alt_b: bytes
    ) -> _Counted:
        """Count one record's INFO text (RecordError, FallbackError propagate; uncached)."""
        rows = self._info_text.rows(info_b, n_alt, haploid, alt_b)
        total = rows[0][0]
        parts: list[tuple[bytes, bytes] | str] = []
        size = len(info_b)
        for row in rows:
            try:
                header, tail = self.encoder.counts_part(row)
            except RecordError as exc:
                parts.append(str(exc))
            else:
                parts.append((header, tail))
                size += len(tail) + 20
        counted = _Counted(n_alt, total[1] if total is not None else 0, parts, size)
        self._cache.add((cache_key, haploid), counted, size)
        return counted


def _where(line: bytes) -> str:
    """``chrom:pos`` of a line, as the messages name records."""
    if not line:
        return "the first record"
    cols = [c.decode(errors="replace") for c in line.split(b"\t", 2)[:2]]
    if len(cols) == 2 and cols[1].isdigit():
        cols[1] = str(int(cols[1]))
    return ":".join(cols)
