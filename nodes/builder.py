"""The index builder behind ``allelemesh index build``: VCF/BCF in, one LMDB index out.

Pipeline per input file: pysam reads records → each ALT allele is split off,
validated (:func:`mesh.variants.validate_variant`) and normalized
(:func:`mesh.normalize.normalize`, left-aligned with ``--reference``) → counts come
from INFO (:mod:`nodes.vcf_counts`) or from genotypes (:mod:`nodes.genotype_counts`)
→ key (:func:`nodes.keys.encode_key`) and value (:mod:`nodes.records` layout) →
sorted batches into LMDB → atomic publish
(:mod:`nodes.index_dir`).

Symbolic alleles (``<DEL>``, ``*``, breakends) and records without ALT are skipped
and counted, not errors. A bad record raises :class:`IndexBuildError` naming the
file, ``chrom:pos`` and the problem, or is skipped and counted with
``on_error="skip"``. Two records normalizing to the same key are a duplicate error
(with ``skip``, the first one read wins).

With ``jobs > 1`` and every input indexed (``.tbi``/``.csi``), worker processes
read genomic windows in parallel and the parent writes their results in order;
otherwise the files are read in this process. Both give identical keys and values.
Workers are *spawned* (not forked, the builder runs threads), so a script calling
:func:`build_index` with ``jobs > 1`` needs the usual ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import shutil
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pysam

from mesh.errors import IndexBuildError, InvalidArgumentError
from mesh.genome import Assembly, canonical_chromosome, contig_length
from mesh.normalize import normalize
from mesh.v1 import allele_pb2
from mesh.variants import VariantKey, validate_variant
from nodes import index_dir
from nodes.genotype_counts import GenotypeCounter, Sample, is_haploid_for_males, read_samples
from nodes.keys import encode_key, position_prefix
from nodes.records import MAX_COUNT, decode_frequency
from nodes.reference import FastaReference
from nodes.vcf_counts import (
    Counts,
    InfoConvention,
    InfoCounter,
    RecordError,
    check_header,
    detect_convention,
    load_info_map,
)

log = logging.getLogger(__name__)


@dataclass
class BuildOptions:
    """Everything ``allelemesh index build`` takes."""

    inputs: Sequence[Path]
    dataset_id: str
    out: Path
    assembly: Assembly = Assembly.GRCH38
    title: str = ""
    description: str = ""
    samples: Path | None = None
    reference: Path | None = None
    jobs: int = 1
    info_map: Path | None = None
    on_error: Literal["fail", "skip"] = "fail"
    #: ``None``: a rich progress bar when stderr is a terminal, log lines otherwise.
    progress: bool | None = None
    batch_size: int = 50_000


@dataclass
class BuildReport:
    """What a finished build did."""

    out: Path
    version_path: Path
    metadata: index_dir.DatasetMetadata
    records: int
    alleles: int
    variant_count: int
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def alleles_per_second(self) -> float:
        """Throughput over the whole build."""
        return self.alleles / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- values

_HEADER = struct.Struct("<5I")
_DOUBLE = struct.Struct("<d").pack
#: ``variant``'s position may move this far left of its record when left-aligned
#: and still reach LMDB by the append-only fast path.
_HOLDBACK_BP = 1000


def _varint_slow(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_VARINTS = [_varint_slow(i) for i in range(1 << 14)]


def _varint(n: int) -> bytes:
    return _VARINTS[n] if n < 16384 else _varint_slow(n)


def _len_field(tag: bytes, body: bytes) -> bytes:
    return tag + _varint(len(body)) + body


class ValueEncoder:
    """Writes the :mod:`nodes.records` value of one allele without protobuf objects.

    Building ``VariantFrequency`` messages costs ~45 µs per allele with 20 populations;
    writing the wire format by hand, with encoded ``AlleleCounts`` cached (most
    populations repeat the same few count tuples), costs a few µs. The output parses
    to the same message (tested against protobuf).
    """

    def __init__(self, dataset_id: str, labels: Sequence[str]) -> None:
        self._dataset = _len_field(b"\x12", dataset_id.encode())
        self._labels = [_len_field(b"\x0a", label.encode()) for label in labels]
        self._counts: dict[Counts, bytes] = {}
        self._chromosomes: dict[str, bytes] = {}
        self._precision = b"\x38" + _varint(allele_pb2.COUNT_PRECISION_EXACT)
        # Per group: counts → the whole encoded ``populations`` entry.
        self._entries: list[dict[Counts, bytes]] = [{} for _ in labels]

    def _entry(self, g: int, c: Counts) -> bytes:
        cache = self._entries[g]
        if len(cache) > 50_000:
            cache.clear()
        entry = _len_field(b"\x32", self._labels[g] + _len_field(b"\x12", self.counts(c)))
        cache[c] = entry
        return entry

    def counts(self, c: Counts) -> bytes:
        """The encoded ``AlleleCounts`` message of one count tuple."""
        body = self._counts.get(c)
        if body is None:
            ac, an, hom, het, hemi = c
            parts = []
            if ac:
                parts.append(b"\x08" + _varint(ac))
            if an:
                parts.append(b"\x10" + _varint(an))
            if ac and an:
                parts.append(b"\x19" + _DOUBLE(ac / an))
            for tag, value in ((b"\x20", hom), (b"\x28", het), (b"\x30", hemi)):
                if value:
                    parts.append(tag + _varint(value))
            parts.append(self._precision)
            body = b"".join(parts)
            if len(self._counts) > 200_000:
                self._counts.clear()  # bounded memory on huge, diverse inputs
            self._counts[c] = body
        return body

    def encode(self, variant: VariantKey, row: Sequence[Counts | None], filters: bytes) -> bytes:
        """Return ``header | VariantFrequency`` for one allele; ``row[0]`` is the total."""
        chrom = self._chromosomes.get(variant.chromosome)
        if chrom is None:
            chrom = self._chromosomes[variant.chromosome] = _len_field(
                b"\x0a", variant.chromosome.encode()
            )
        body = b"".join(
            (
                chrom,
                b"\x10",
                _varint(variant.position),
                _len_field(b"\x1a", variant.ref.encode()),
                _len_field(b"\x22", variant.alt.encode()),
            )
        )
        total = row[0]
        assert total is not None
        if max(total) > MAX_COUNT:
            raise RecordError(f"a count ({max(total)}) does not fit in 32 bits")
        parts = [
            _HEADER.pack(total[0], total[1], total[2], total[3], total[4]),
            _len_field(b"\x0a", body),
            self._dataset,
            _len_field(b"\x2a", self.counts(total)),
        ]
        entries = self._entries
        for g in range(1, len(row)):
            c = row[g]
            if c is not None:
                entry = entries[g].get(c)
                if entry is None:
                    entry = self._entry(g, c)
                parts.append(entry)
        parts.append(filters)
        return b"".join(parts)


def encode_filters(names: Sequence[str]) -> bytes:
    """The encoded ``filters`` field: nothing for PASS."""
    return b"".join(_len_field(b"\x3a", n.encode()) for n in names if n != "PASS")


# --------------------------------------------------------------------------- reading

#: An encoded allele on its way to the writer: key, value, origin, floor key.
Item = tuple[bytes, bytes, str, bytes]
Emit = Callable[[bytes, bytes, str, bytes], None]
_WINDOW_BP = 250_000  # per parallel task; bounds the results held in memory
_TICK = 8192


@dataclass(frozen=True)
class _Config:
    """What a reader needs, picklable for worker processes."""

    inputs: tuple[str, ...]
    dataset_id: str
    assembly: Assembly
    samples: tuple[Sample, ...] | None
    reference: str | None
    info_map: InfoConvention | None
    skip: bool


@dataclass
class _Stats:
    records: int = 0
    alleles: int = 0
    invalid: int = 0
    symbolic: int = 0
    max_an: int = 0

    def merge(self, other: _Stats) -> None:
        self.records += other.records
        self.alleles += other.alleles
        self.invalid += other.invalid
        self.symbolic += other.symbolic
        self.max_an = max(self.max_an, other.max_an)


@dataclass(frozen=True)
class _Task:
    """A whole file (``contig is None``) or one window ``[start, end)`` of one contig."""

    file_index: int
    contig: str | None = None
    start: int = 0
    end: int | None = None


def _open(path: str) -> Any:
    try:
        return pysam.VariantFile(path)
    except (OSError, ValueError) as exc:
        raise IndexBuildError(f"{path}: cannot be read as VCF/BCF: {exc}") from exc


class _Reader:
    """Turns the records of one input file into index items."""

    def __init__(self, config: _Config, file_index: int, reference: Any = None) -> None:
        self.config = config
        self.path = config.inputs[file_index]
        self.vcf = _open(self.path)
        header = self.vcf.header
        self.info: InfoCounter | None = None
        self.genotypes: GenotypeCounter | None = None
        convention = config.info_map or (
            None if config.samples is not None else detect_convention(header.info.keys())
        )
        if convention is not None:
            try:
                check_header(convention, header.info.keys())
            except IndexBuildError as exc:
                raise IndexBuildError(f"{self.path}: {exc.message}") from None
            self.info = InfoCounter(convention, header.info.keys())
            self.convention = convention.name
            self.labels = self.info.labels
            self.sample_count = 0
        elif len(header.samples) and "GT" in header.formats:
            self.genotypes = GenotypeCounter(list(header.samples), config.samples)
            self.convention = "genotypes"
            self.labels = self.genotypes.labels
            self.sample_count = self.genotypes.sample_count
        else:
            raise IndexBuildError(
                f"{self.path}: no allele counts: INFO has no AC/AN of a known convention "
                "(give --info-map) and there are no genotypes"
            )
        self.encoder = ValueEncoder(config.dataset_id, self.labels)
        self.reference = reference
        self._contigs: dict[str, str] = {}
        self._filters: dict[tuple[str, ...], bytes] = {}

    def indexed(self) -> bool:
        """Whether the file has a tabix/CSI index (needed for parallel windows)."""
        return self.vcf.index is not None

    def tasks(self, file_index: int) -> list[_Task]:
        """Windows over every contig in the index, in file order."""
        tasks = []
        for contig in self.vcf.index:
            length = None
            if contig in self.vcf.header.contigs:
                length = self.vcf.header.contigs[contig].length
            if length is None:
                try:
                    length = contig_length(contig, self.config.assembly)
                except InvalidArgumentError:
                    tasks.append(_Task(file_index, contig))
                    continue
            for start in range(0, length, _WINDOW_BP):
                tasks.append(_Task(file_index, contig, start, start + _WINDOW_BP))
        return tasks

    def _contig(self, name: str) -> str:
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

    def run(self, task: _Task, emit: Emit, stats: _Stats, tick: Callable[[int], None]) -> None:
        """Read the task's records, calling ``emit`` for every allele kept."""
        if task.contig is None:
            records = self.vcf
            window_start = -1
        else:
            records = self.vcf.fetch(task.contig, task.start, task.end)
            window_start = task.start
        last = "the first record"
        seen = 0
        try:
            for rec in records:
                if rec.start < window_start:
                    continue  # starts in the previous window, which read it
                seen += 1
                if seen % _TICK == 0:
                    tick(_TICK)
                last = f"{rec.chrom}:{rec.pos}"
                try:
                    items = self._record(rec, stats)
                except (RecordError, InvalidArgumentError) as exc:
                    if not self.config.skip:
                        message = exc.message if isinstance(exc, InvalidArgumentError) else exc
                        raise IndexBuildError(
                            f"{self.path}: record {last}: {message}",
                            metadata={"file": self.path, "record": last},
                        ) from None
                    stats.invalid += 1
                    continue
                for item in items:
                    emit(*item)
        except (OSError, ValueError) as exc:
            raise IndexBuildError(
                f"{self.path}: cannot read the records after {last} "
                f"(truncated or corrupt file?): {exc}"
            ) from exc
        stats.records += seen
        tick(seen % _TICK)

    def _record(self, rec: Any, stats: _Stats) -> list[Item]:
        chrom = self._contig(rec.chrom)
        pos: int = rec.pos
        alts = rec.alts
        if not alts:
            stats.symbolic += 1
            return []
        n_alt = len(alts)
        haploid = chrom in ("X", "Y") and is_haploid_for_males(chrom, pos, self.config.assembly)
        if self.info is not None:
            counts = self.info.count(rec.info, n_alt, haploid)
        else:
            assert self.genotypes is not None
            counts = self.genotypes.count(_gt_strings(rec), n_alt, haploid, chrom == "Y")
        total_an = counts[0][0][1] if counts[0][0] is not None else 0
        stats.max_an = max(stats.max_an, total_an)
        filter_names = tuple(rec.filter.keys())
        filters = self._filters.get(filter_names)
        if filters is None:
            filters = self._filters[filter_names] = encode_filters(filter_names)
        origin = f"{self.path} {rec.chrom}:{pos}"
        floor = position_prefix(chrom, max(0, pos - _HOLDBACK_BP))
        ref: str = rec.ref
        items: list[Item] = []
        for a, alt in enumerate(alts):
            if alt[0] in "<*." or "[" in alt or "]" in alt:
                stats.symbolic += 1
                continue
            variant = normalize(
                validate_variant(chrom, pos, ref, alt, self.config.assembly), self.reference
            )
            key = encode_key(variant)
            items.append((key, self.encoder.encode(variant, counts[a], filters), origin, floor))
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


# --------------------------------------------------------------------------- workers

_WORKER: dict[int, _Reader] = {}
_WORKER_CONFIG: list[_Config] = []


def _worker_init(config: _Config) -> None:
    _WORKER_CONFIG.append(config)


def _worker_run(task: _Task) -> tuple[list[Item], _Stats]:
    reader = _WORKER.get(task.file_index)
    if reader is None:
        config = _WORKER_CONFIG[0]
        reference = FastaReference(config.reference, config.assembly) if config.reference else None
        reader = _WORKER[task.file_index] = _Reader(config, task.file_index, reference)
    items: list[Item] = []
    stats = _Stats()
    reader.run(task, lambda *item: items.append(item), stats, lambda _n: None)
    return items, stats


# --------------------------------------------------------------------------- progress


class _Progress:
    """A rich progress line on a terminal, a log line every few seconds otherwise."""

    def __init__(self, enabled: bool | None, total_files: int) -> None:
        self._rich = sys.stderr.isatty() if enabled is None else enabled
        self._records = 0
        self._started = self._logged = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if self._rich:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("indexing {task.fields[files]} file(s)"),
                TextColumn("{task.completed:,.0f} records"),
                TextColumn("{task.fields[rate]:,.0f} records/s"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._task = self._bar.add_task("index", total=None, files=total_files, rate=0)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, records: int) -> None:
        """Count records read."""
        self._records += records
        now = time.monotonic()
        rate = self._records / max(now - self._started, 1e-9)
        if self._bar is not None:
            self._bar.update(self._task, completed=self._records, rate=rate)
        elif now - self._logged >= 10:
            self._logged = now
            log.info("read %d records (%.0f records/s)", self._records, rate)


# --------------------------------------------------------------------------- build


class _Hasher(threading.Thread):
    """SHA-256 over the input files in order, beside the build (hashlib frees the GIL)."""

    def __init__(self, paths: Sequence[str]) -> None:
        super().__init__(daemon=True, name="source-sha256")
        self.paths = paths
        self.digest = ""
        self.error: OSError | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        sha = hashlib.sha256()
        try:
            for path in self.paths:
                with open(path, "rb") as handle:
                    while chunk := handle.read(1 << 20):
                        if self.stop.is_set():
                            return
                        sha.update(chunk)
        except OSError as exc:
            self.error = exc
            return
        self.digest = sha.hexdigest()


def _config(options: BuildOptions) -> _Config:
    if not options.inputs:
        raise IndexBuildError("no input VCF/BCF files given")
    if options.jobs < 1:
        raise IndexBuildError(f"--jobs must be at least 1, not {options.jobs}")
    if options.on_error not in ("fail", "skip"):
        raise IndexBuildError(f"--on-error must be fail or skip, not {options.on_error!r}")
    if not options.dataset_id:
        raise IndexBuildError("--dataset must not be empty")
    for path in options.inputs:
        if not Path(path).is_file():
            raise IndexBuildError(f"{path}: no such file")
    return _Config(
        inputs=tuple(str(p) for p in options.inputs),
        dataset_id=options.dataset_id,
        assembly=Assembly(options.assembly),
        samples=tuple(read_samples(options.samples)) if options.samples else None,
        reference=str(options.reference) if options.reference else None,
        info_map=load_info_map(options.info_map) if options.info_map else None,
        skip=options.on_error == "skip",
    )


def build_index(options: BuildOptions) -> BuildReport:
    """Build (or rebuild) a dataset index and swap it in atomically."""
    started = time.monotonic()
    config = _config(options)
    out = Path(options.out).absolute()
    previous = index_dir.check_target(out)
    reference = FastaReference(config.reference, config.assembly) if config.reference else None
    readers = [_Reader(config, i, reference) for i in range(len(config.inputs))]
    hasher = _Hasher(config.inputs)
    hasher.start()
    tmp = index_dir.start_build(out)
    duplicates = 0

    def on_duplicate(key: bytes, value: bytes, origin: str, earlier: str | None) -> None:
        nonlocal duplicates
        if config.skip:
            duplicates += 1
            return
        variant = decode_frequency(value).variant
        name = f"{variant.chromosome}-{variant.position}-{variant.reference_bases}-"
        name += variant.alternate_bases
        raise IndexBuildError(
            f"records {earlier or 'an earlier record'} and {origin} both normalize to {name}",
            reason="DUPLICATE_VARIANT",
        )

    writer = index_dir.SortedWriter(tmp, batch_size=options.batch_size, on_duplicate=on_duplicate)
    stats = _Stats()
    try:
        with _Progress(options.progress, len(readers)) as progress:
            if options.jobs > 1 and all(r.indexed() for r in readers):
                _run_parallel(config, readers, writer, stats, progress, options.jobs)
            else:
                if options.jobs > 1:
                    log.warning("--jobs needs indexed (.tbi/.csi) inputs; reading serially")
                for i, reader in enumerate(readers):
                    reader.run(_Task(i), writer.add, stats, progress.advance)
        variant_count = writer.finish()
        hasher.join()
        if hasher.error is not None:
            raise IndexBuildError(f"cannot hash the inputs: {hasher.error}")
        seconds = time.monotonic() - started
        metadata = _metadata(options, config, readers, stats, variant_count, duplicates)
        metadata.source_sha256 = hasher.digest
        metadata.build_seconds = round(seconds, 3)
        index_dir.write_metadata(tmp, metadata)
        version = index_dir.publish(tmp, out, previous)
    except BaseException:
        hasher.stop.set()
        writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for reader in readers:
            reader.close()
        if reference is not None:
            reference.close()
    log.info(
        "indexed %d records, %d alleles, %d variants in %.1f s (%.0f alleles/s)",
        stats.records,
        stats.alleles,
        variant_count,
        seconds,
        stats.alleles / max(seconds, 1e-9),
    )
    return BuildReport(
        out=out,
        version_path=version,
        metadata=metadata,
        records=stats.records,
        alleles=stats.alleles,
        variant_count=variant_count,
        skipped=dict(metadata.skipped),
        seconds=seconds,
    )


def _run_parallel(
    config: _Config,
    readers: Sequence[_Reader],
    writer: index_dir.SortedWriter,
    stats: _Stats,
    progress: _Progress,
    jobs: int,
) -> None:
    tasks = iter([t for i, r in enumerate(readers) for t in r.tasks(i)])
    # spawn, not fork: the hashing thread (and rich's) must not be forked mid-flight.
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_worker_init, initargs=(config,)) as pool:
        pending: deque[Any] = deque()

        def submit() -> None:
            task = next(tasks, None)
            if task is not None:
                pending.append(pool.apply_async(_worker_run, (task,)))

        for _ in range(jobs + 1):  # results are held in memory: keep the window small
            submit()
        while pending:
            items, task_stats = pending.popleft().get()
            submit()
            for item in items:
                writer.add(*item)
            stats.merge(task_stats)
            progress.advance(task_stats.records)


def _metadata(
    options: BuildOptions,
    config: _Config,
    readers: Sequence[_Reader],
    stats: _Stats,
    variant_count: int,
    duplicates: int,
) -> index_dir.DatasetMetadata:
    genotypes = [r.sample_count for r in readers if r.genotypes is not None]
    # Sites files carry no sample list: AN/2 at the best-called site is the best estimate.
    sample_count = max(genotypes) if genotypes else (stats.max_an + 1) // 2
    return index_dir.DatasetMetadata(
        id=config.dataset_id,
        assembly=config.assembly,
        title=options.title,
        description=options.description,
        sample_count=sample_count,
        populations=sorted({label for r in readers for label in r.labels[1:]}),
        variant_count=variant_count,
        source_files=[str(Path(p).absolute()) for p in config.inputs],
        created_time=index_dir.utc_now(),
        info_convention=",".join(sorted({r.convention for r in readers})),
        skipped={"invalid": stats.invalid, "symbolic": stats.symbolic, "duplicate": duplicates},
    )
