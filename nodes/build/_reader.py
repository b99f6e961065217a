"""Reading one input file into index items: the shared record logic and the pysam reader.

:class:`PysamReader` decodes every record with pysam (BCF, genotype files, headers
the text reader does not take, and the reference the text reader is tested
against). :mod:`nodes.build._text_reader` reads sites VCF text itself, faster, with the
same items and the same errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pysam

from mesh.errors import IndexBuildError, InvalidArgumentError
from mesh.model.genome import Assembly, canonical_chromosome, contig_length
from mesh.model.normalize import normalize
from mesh.model.variants import validate_variant
from nodes.build._arrays import ALLELE_TAGS, allele_map
from nodes.build._encode import ValueEncoder, encode_filters
from nodes.build._extras import extras_reader
from nodes.build.conventions import detect
from nodes.build.genotype_counts import GenotypeCounter, Sample, is_haploid_for_males
from nodes.build.vcf_counts import InfoConvention, InfoCounter, RecordError
from nodes.index.keys import encode_key, position_prefix

log = logging.getLogger(__name__)

#: Where an item came from: path, chrom, pos (for a duplicate's error message) and the
#: record's ``ID`` column (``b"."``: none), whose rsIDs the writer files under its key.
Origin = tuple[str, str, int, bytes]
#: An encoded allele on its way to the writer: key, value, origin, floor key.
Item = tuple[bytes, bytes, Origin, bytes]
Emit = Callable[[bytes, bytes, Origin, bytes], None]
#: ``variant``'s position may move this far left of its record when left-aligned
#: and still reach LMDB by the append-only fast path.
HOLDBACK_BP = 1000
WINDOW_BP = 250_000  # per parallel pysam task; bounds the results held in memory
TICK = 8192
#: Skipped records whose problem is kept (in order) for the build's summary.
MAX_PROBLEMS = 10


def allele_kind(alt: str) -> str | None:
    """What a non-sequence ALT allele is (``None``: bases, to be indexed)."""
    first = alt[:1]
    if first == "<":
        return "non_ref" if alt in ("<NON_REF>", "<*>") else "symbolic"
    if alt == "*":
        return "star"
    if "[" in alt or "]" in alt or first == "." or alt[-1:] == ".":
        return "breakend" if alt != "." else "no_alt"
    return None


def origin_text(origin: Origin) -> str:
    """``path chrom:pos`` of an item's record."""
    return f"{origin[0]} {origin[1]}:{origin[2]}"


@dataclass(frozen=True)
class Config:
    """What a reader needs, picklable for worker processes."""

    inputs: tuple[str, ...]
    dataset_id: str
    assembly: Assembly
    samples: tuple[Sample, ...] | None
    reference: str | None
    info_map: InfoConvention | None
    skip: bool
    #: Read sites VCF text without pysam records (off: the pysam reference path).
    fast_text: bool = True
    #: The gnomAD v4 count set to read (``--subset``); empty: the file's default.
    subset: str = ""
    #: The dataset's groups in stored order (every input's labels; empty: this file's).
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    """A record skipped as bad (``on_error="skip"``): where, and what was wrong.

    ``number``: the record's place among the data lines of its file (1 = the first
    after the header), known when the whole file was read by one task.
    """

    file: str
    record: str
    message: str
    number: int | None = None


@dataclass
class Stats:
    """What reading counted."""

    records: int = 0
    alleles: int = 0
    invalid: int = 0
    symbolic: int = 0
    #: Alleles (or records) not indexed, by kind (:func:`allele_kind`, ``reference_block``).
    kinds: dict[str, int] = field(default_factory=dict)
    max_an: int = 0
    #: The first :data:`MAX_PROBLEMS` skipped records, in reading order.
    problems: list[Problem] = field(default_factory=list)

    def merge(self, other: Stats) -> None:
        """Add another task's counts."""
        self.records += other.records
        self.alleles += other.alleles
        self.invalid += other.invalid
        self.symbolic += other.symbolic
        self.max_an = max(self.max_an, other.max_an)
        for kind, n in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + n
        self.problems.extend(other.problems[: MAX_PROBLEMS - len(self.problems)])

    def skip(self, kind: str) -> None:
        """Count one allele (or record) not indexed."""
        self.symbolic += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def skip_record(self, kinds: list[str | None]) -> bool:
        """Count a record's non-sequence alleles; ``True`` when it has none to index.

        A record whose only ALTs are ``<NON_REF>``/``<*>`` is a gVCF reference block:
        counted once as such, and adds nothing (its INFO is not read).
        """
        if not all(kinds):
            return False
        if all(k == "non_ref" for k in kinds):
            self.skip("reference_block")
        else:
            for kind in kinds:
                self.skip(str(kind))
        return True

    def skip_invalid(self, problem: Problem) -> None:
        """Count a bad record skipped, keeping the first few problems."""
        self.invalid += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


@dataclass(frozen=True)
class Task:
    """Part of one input: the whole file, a window of a contig, or a byte range.

    ``contig`` set: the records starting in ``[start, end)`` of it (pysam, indexed).
    ``byte_end`` set: the lines starting in the BGZF blocks from ``start`` (a
    compressed offset) up to ``byte_end`` (text reader).
    """

    file_index: int
    contig: str | None = None
    start: int = 0
    end: int | None = None
    byte_end: int | None = None
    #: Read at most this many records (whole-file tasks: ``index preview``'s sample).
    limit: int | None = None

    @property
    def whole_file(self) -> bool:
        """Whether the task reads its file from the first record (so records are numbered)."""
        return self.contig is None and self.byte_end is None


def plain_gzip(path: str) -> bool:
    """True for a gzip file that is not BGZF (``gzip file.vcf`` rather than ``bgzip``).

    BGZF is gzip whose header carries a ``BC`` extra subfield (SAM/BAM spec, 4.1);
    htslib reads plain gzip only as a stream and cannot open it as a VCF.
    """
    try:
        with open(path, "rb") as stream:
            head = stream.read(18)
    except OSError:
        return False
    gzip = head[:2] == b"\x1f\x8b"
    bgzf = len(head) == 18 and head[3] & 0x04 and head[12:14] == b"BC"
    return gzip and not bgzf


def open_vcf(path: str) -> Any:
    """Open a VCF/BCF with pysam, or raise naming the file."""
    if plain_gzip(path):
        fixed = f"{path.removesuffix('.gz').removesuffix('.vcf')}.bgz.vcf.gz"
        raise IndexBuildError(
            f"{path} is compressed with gzip, not bgzip (BGZF), and htslib cannot read it: "
            f"recompress it with `zcat {path} | bgzip -c > {fixed}` (and `tabix -p vcf "
            f"{fixed}` for --jobs), then build from {fixed}",
            reason="NOT_BGZF",
            metadata={"file": path},
        )
    # htslib prints "[E::idx_find_and_load] Could not retrieve index file" when it opens a
    # BCF without a .csi; the builder handles that itself (serial read), so hush htslib
    # while opening. Its errors still surface as the exceptions caught below.
    verbosity = pysam.set_verbosity(0)
    try:
        return pysam.VariantFile(path)
    except (OSError, ValueError, NotImplementedError) as exc:
        raise IndexBuildError(f"{path}: cannot be read as VCF/BCF: {exc}") from exc
    finally:
        pysam.set_verbosity(verbosity)


def indexed_contigs(vcf: Any) -> list[str] | None:
    """The contigs with records, from a pysam file's index (``None``: no index)."""
    if vcf.index is None:
        return None
    # A BCF's .csi lists every contig of the header, records or not: ask it.
    return [str(c) for c in vcf.index if next(vcf.fetch(str(c)), None) is not None]


def check_assembly(path: str, header: Any, assembly: Assembly) -> int:
    """Refuse a file whose ``##contig`` lengths say it is of another assembly.

    Coordinates of GRCh37 and GRCh38 differ almost everywhere: a file indexed under the
    wrong assembly would answer every query with someone else's variant. Contigs the
    assembly does not know (decoys, alts) are left to the per-record check. Returns the
    number of ``##contig`` lengths that matched.
    """
    checked = 0
    for name in header.contigs:
        length = header.contigs[name].length
        if not length:
            continue
        try:
            canonical = canonical_chromosome(name, assembly)
            expected = contig_length(canonical, assembly)
        except InvalidArgumentError:
            continue
        if length != expected:
            raise IndexBuildError(
                f"{path}: ##contig {name} has length {length:,}, but chromosome {canonical} "
                f"of {assembly} has {expected:,}: is this file of another assembly? "
                "(check --assembly)",
                reason="ASSEMBLY_MISMATCH",
                metadata={"file": path, "contig": name},
            )
        checked += 1
    return checked


class PysamReader:
    """Turns the records of one input file, decoded by pysam, into index items."""

    def __init__(self, config: Config, file_index: int, reference: Any = None) -> None:
        self.config = config
        self.path = config.inputs[file_index]
        self.vcf = open_vcf(self.path)
        header = self.vcf.header
        #: ``##contig`` lengths that matched the assembly.
        self.contigs_checked = check_assembly(self.path, header, config.assembly)
        #: The record being read (whole-file tasks), for :class:`Problem` numbers.
        self._at: int | None = None
        self.info: InfoCounter | None = None
        self.genotypes: GenotypeCounter | None = None
        try:
            self.detection = detect(
                header,
                info_map=config.info_map,
                genotypes=config.samples is not None,
                subset=config.subset,
            )
        except IndexBuildError as exc:
            raise IndexBuildError(f"{self.path}: {exc.message}") from None
        convention = self.detection.convention
        if convention is not None:
            # pysam refuses to decode an INFO Number=G value, so never all INFO at once then.
            bulk_ok = all(header.info[k].number != "G" for k in header.info)
            keys = header.info.keys() if bulk_ok else ()
            self.info = InfoCounter(convention, keys, self.detection.numbers)
            self.convention = convention.name
            self.labels = self.info.labels
            self.sample_count = 0
        elif len(header.samples) and "GT" in header.formats:
            self.genotypes = GenotypeCounter(list(header.samples), config.samples)
            self.convention = "genotypes"
            self.labels = self.genotypes.labels
            self.sample_count = self.genotypes.sample_count
        else:  # detect() refuses a file with neither
            raise AssertionError("no counts")
        #: The vt tags this header declares (records split by vt: arrays in original order).
        self._vt_tags = tuple(t for t in ALLELE_TAGS if t in header.info)
        #: gnomAD v4's grpmax/faf95, when the header declares them (None: nothing to read).
        self.extras = (
            extras_reader(header.info.keys(), self.detection.subset) if self.info else None
        )
        self.encoder = ValueEncoder(config.dataset_id, self.labels, config.groups or None)
        self.reference = reference
        self._contigs: dict[str, str] = {}
        self._filters: dict[tuple[str, ...], bytes] = {}

    def splittable(self) -> bool:
        """Whether :meth:`tasks` can cut the file for parallel workers (needs an index)."""
        return self.vcf.index is not None

    def tasks(self, file_index: int) -> list[Task]:
        """Windows over every contig in the index, in file order."""
        tasks = []
        for contig in indexed_contigs(self.vcf) or ():
            length = None
            if contig in self.vcf.header.contigs:
                length = self.vcf.header.contigs[contig].length
            if length is None:
                try:
                    length = contig_length(contig, self.config.assembly)
                except InvalidArgumentError:
                    tasks.append(Task(file_index, contig))
                    continue
            for start in range(0, length, WINDOW_BP):
                tasks.append(Task(file_index, contig, start, start + WINDOW_BP))
        return tasks

    def contig(self, name: str) -> str:
        """The canonical chromosome of a contig name, or a :class:`RecordError`."""
        canonical = self._contigs.get(name)
        if canonical is None:
            try:
                canonical = canonical_chromosome(name, self.config.assembly)
            except InvalidArgumentError:
                raise RecordError(
                    f"contig {name!r} is not a chromosome of {self.config.assembly}"
                ) from None
            self._contigs[name] = canonical
        return canonical

    def record_error(self, exc: RecordError | InvalidArgumentError, last: str) -> IndexBuildError:
        """The build error of a bad record (``on_error="fail"``)."""
        message = exc.message if isinstance(exc, InvalidArgumentError) else exc
        return IndexBuildError(
            f"{self.path}: record {last}: {message}",
            metadata={"file": self.path, "record": last},
        )

    def problem(
        self, exc: RecordError | InvalidArgumentError, last: str, number: int | None
    ) -> Problem:
        """The :class:`Problem` of a bad record skipped (``on_error="skip"``)."""
        message = exc.message if isinstance(exc, InvalidArgumentError) else str(exc)
        return Problem(self.path, last, message, number)

    def read_error(self, exc: Exception, last: str) -> IndexBuildError:
        """The build error of a file that stops being readable after record ``last``."""
        return IndexBuildError(
            f"{self.path}: cannot read the records after {last} (truncated or corrupt file?): {exc}"
        )

    def run(self, task: Task, emit: Emit, stats: Stats, tick: Callable[[int], None]) -> None:
        """Read the task's records, calling ``emit`` for every allele kept."""
        if task.contig is None:
            records = self.vcf if task.limit is None else islice(self.vcf, task.limit)
            window_start = -1
        else:
            records = self.vcf.fetch(task.contig, task.start, task.end)
            window_start = task.start
        last = "the first record"
        seen = 0
        numbered = task.whole_file
        self._at = None
        try:
            for rec in records:
                if rec.start < window_start:
                    continue  # starts in the previous window, which read it
                seen += 1
                if seen % TICK == 0:
                    tick(TICK)
                last = f"{rec.chrom}:{rec.pos}"
                if numbered:
                    self._at = seen
                self.record(rec, emit, stats, last)
        except (OSError, ValueError) as exc:
            raise self.read_error(exc, last) from exc
        stats.records += seen
        tick(seen % TICK)

    def record(self, rec: Any, emit: Emit, stats: Stats, last: str) -> None:
        """Emit one pysam record's items, or count or raise its error."""
        try:
            items = self._items(rec, stats)
        except (RecordError, InvalidArgumentError) as exc:
            if not self.config.skip:
                raise self.record_error(exc, last) from None
            stats.skip_invalid(self.problem(exc, last, self._at))
            return
        for item in items:
            emit(*item)

    def _items(self, rec: Any, stats: Stats) -> list[Item]:
        chrom = self.contig(rec.chrom)
        pos: int = rec.pos
        alts = rec.alts
        if not alts:
            stats.skip("no_alt")
            return []
        kinds = [allele_kind(alt) for alt in alts]
        if any(kinds) and stats.skip_record(kinds):
            return []
        n_alt = len(alts)
        haploid = chrom in ("X", "Y") and is_haploid_for_males(chrom, pos, self.config.assembly)
        if self.info is not None:
            remap = None
            if self._vt_tags:
                info = rec.info
                tags = [info.get(t) if t in info else None for t in ALLELE_TAGS]
                remap = allele_map(tags[0], tags[1], alts)
            counts = self.info.count(rec.info, n_alt, haploid, remap)
        else:
            assert self.genotypes is not None
            counts = self.genotypes.count(_gt_strings(rec), n_alt, haploid, chrom == "Y")
        total_an = counts[0][0][1] if counts[0][0] is not None else 0
        stats.max_an = max(stats.max_an, total_an)
        try:
            filter_names = tuple(rec.filter.keys())
        except UnicodeDecodeError:  # pysam decodes the names as UTF-8
            raise RecordError("FILTER is not UTF-8 text") from None
        filters = self._filters.get(filter_names)
        if filters is None:
            filters = self._filters[filter_names] = encode_filters(filter_names)
        origin = (self.path, rec.chrom, pos, rec.id.encode() if rec.id else b".")
        floor = position_prefix(chrom, max(0, pos - HOLDBACK_BP))
        ref: str = rec.ref
        extras = self.extras.alleles(rec.info, n_alt) if self.extras is not None else None
        items: list[Item] = []
        for a, alt in enumerate(alts):
            if kinds[a] is not None:
                stats.skip(str(kinds[a]))
                continue
            variant = normalize(
                validate_variant(chrom, pos, ref, alt, self.config.assembly), self.reference
            )
            key = encode_key(variant)
            tail = filters if extras is None else filters + extras[a]
            items.append((key, self.encoder.encode(variant, counts[a], tail), origin, floor))
        stats.alleles += len(items)
        return items

    def close(self) -> None:
        """Release the file (a read error was already reported; closing cannot add to it)."""
        try:
            self.vcf.close()
        except OSError:
            log.debug("closing an input after a read error failed", exc_info=True)


def _gt_strings(rec: Any) -> list[str]:
    """The GT text of every sample column: formatting in htslib beats per-sample pysam."""
    columns = str(rec).rstrip("\n").split("\t")
    keys = columns[8].split(":")
    if "GT" not in keys:
        raise RecordError("FORMAT has no GT")
    gt = keys.index("GT")
    if gt == 0:
        return [c.partition(":")[0] for c in columns[9:]]
    return [(c.split(":") + ["."] * gt)[gt] for c in columns[9:]]
