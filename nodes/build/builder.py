"""The index builder behind ``allelemesh index build``: VCF/BCF in, one LMDB index out.

Pipeline per input file: records are read (sites VCF text by
:mod:`nodes.build._text_reader`, everything else by pysam in :mod:`nodes.build._reader`) → each
ALT allele is split off, validated (:func:`mesh.model.variants.validate_variant`) and
normalized (:func:`mesh.model.normalize.normalize`, left-aligned with ``--reference``) →
counts come from INFO (:mod:`nodes.build.vcf_counts`) or from genotypes
(:mod:`nodes.build.genotype_counts`) → key (:func:`nodes.index.keys.encode_key`) and value
(:mod:`nodes.build._encode`, the :mod:`nodes.index.records` layout) → sorted batches into LMDB →
atomic publish (:mod:`nodes.index.index_dir`).

Symbolic alleles (``<DEL>``, ``*``, breakends) and records without ALT are skipped
and counted, not errors. A bad record raises :class:`IndexBuildError` naming the
file, ``chrom:pos`` and the problem, or is skipped and counted with
``on_error="skip"``. Two records normalizing to the same key are a duplicate error
(with ``skip``, the first one read wins).

Several files of one dataset (per chromosome) are read lower chromosomes first
(:func:`nodes.build._parallel.key_order`). With ``jobs > 1`` and every input
splittable, worker processes read parts of the inputs in parallel and the parent
writes their results in that order: bgzipped VCF
text is cut into byte ranges of BGZF blocks (no index needed), other indexed inputs
(``.tbi``/``.csi``) into genomic windows. Otherwise the files are read in this
process. Both give identical keys and values.
Workers are *spawned* (not forked, the builder runs threads), so a script calling
:func:`build_index` with ``jobs > 1`` needs the usual ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import lmdb
import pysam

from mesh.errors import ConfigError, IndexBuildError
from mesh.model.genome import Assembly, canonical_chromosome
from mesh.model.reference import FastaReference
from nodes.build._encode import ValueEncoder, encode_filters
from nodes.build._info_text import CountCache
from nodes.build._parallel import key_order, open_reader, run_parallel
from nodes.build._reader import (
    Config,
    Origin,
    PysamReader,
    Stats,
    Task,
    indexed_contigs,
    origin_text,
)
from nodes.build.genotype_counts import read_samples
from nodes.build.index_summary import IndexSummary, ValueCheck
from nodes.build.vcf_counts import load_info_map
from nodes.index import index_dir
from nodes.index.records import ValueCodec, dataset_groups
from nodes.index.writer import SortedWriter

__all__ = ["BuildOptions", "BuildReport", "ValueEncoder", "build_index", "encode_filters"]

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
    #: The study and a reference to it, shown as Beacon ``source``/``sourceReference``.
    source: str = ""
    source_reference: str = ""
    samples: Path | None = None
    reference: Path | None = None
    jobs: int = 1
    info_map: Path | None = None
    on_error: Literal["fail", "skip"] = "fail"
    #: The dataset's publishable metadata file (``samples/dataset-metadata.toml``).
    metadata: Path | None = None
    #: ``None``: a rich progress bar when stderr is a terminal, log lines otherwise.
    progress: bool | None = None
    batch_size: int = 20_000
    #: The tier this build is for (recorded in ``dataset.json``; see ``index promote``).
    tier: str = ""
    #: The gnomAD v4 count set (``joint``, ``exomes``, ``genomes``) of a joint file.
    subset: str = ""
    #: Sees every stored value before the index is published (``--policy``: the
    #: disclosure tally); what it found is recorded as ``disclosure_check``.
    check: ValueCheck | None = None


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
    #: What the files yielded, as ``index preview --all`` shows it.
    summary: IndexSummary | None = None

    @property
    def alleles_per_second(self) -> float:
        """Throughput over the whole build."""
        return self.alleles / self.seconds if self.seconds > 0 else 0.0


# --------------------------------------------------------------------------- readers


def open_readers(config: Config, reference: Any) -> list[PysamReader]:
    """One reader per input file (closing those opened when a later one fails)."""
    readers: list[PysamReader] = []
    caches: dict[bytes, CountCache] = {}  # files of one header share their INFO cache
    try:
        for i in range(len(config.inputs)):
            readers.append(open_reader(config, i, reference, caches))
    except BaseException:
        for reader in readers:
            reader.close()
        raise
    # One value layout for the dataset: every input's groups, the total first.
    groups = dataset_groups(r.labels for r in readers)
    for reader in readers:
        reader.encoder = ValueEncoder(config.dataset_id, reader.labels, groups)
    return readers


# --------------------------------------------------------------------------- progress


class Progress:
    """A rich progress line on a terminal, a log line every few seconds otherwise."""

    def __init__(self, enabled: bool | None, total_files: int, doing: str = "indexing") -> None:
        self._rich = sys.stderr.isatty() if enabled is None else enabled
        self._records = 0
        self._started = self._logged = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if self._rich:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn(f"{doing} {{task.fields[files]}} file(s)"),
                TextColumn("{task.completed:,.0f} records"),
                TextColumn("{task.fields[rate]:,.0f} records/s"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._task = self._bar.add_task("index", total=None, files=total_files, rate=0)

    def __enter__(self) -> Progress:
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


def reader_config(options: BuildOptions, fast_text: bool) -> Config:
    """The readers' configuration for these options (checked: a bad one names itself)."""
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
    if len(options.inputs) > 1:
        _check_chromosomes_apart(options.inputs, Assembly(options.assembly))
    return Config(
        inputs=tuple(str(p) for p in options.inputs),
        dataset_id=options.dataset_id,
        assembly=Assembly(options.assembly),
        samples=tuple(read_samples(options.samples)) if options.samples else None,
        reference=str(options.reference) if options.reference else None,
        info_map=load_info_map(options.info_map) if options.info_map else None,
        skip=options.on_error == "skip",
        fast_text=fast_text,
        subset=options.subset,
    )


def _check_chromosomes_apart(inputs: Sequence[Path], assembly: Assembly) -> None:
    """Refuse a chromosome that two of a dataset's files hold (per-chromosome files).

    Read from the files' tabix/CSI indexes, which list the contigs with records; files
    without an index are not checked here (a variant in two files is still refused as
    a duplicate when the build reaches it).
    """
    owner: dict[str, Path] = {}
    for path in inputs:
        try:
            with pysam.VariantFile(str(path)) as vcf:
                contigs = indexed_contigs(vcf) or []
        except (OSError, ValueError):
            continue  # unreadable here: the reader names the problem when it opens it
        for contig in contigs:
            try:
                chromosome = canonical_chromosome(contig, assembly)
            except ValueError:
                chromosome = contig
            if chromosome in owner and owner[chromosome] != path:
                raise IndexBuildError(
                    f"chromosome {chromosome} is in both {owner[chromosome]} and {path}: "
                    "give each chromosome of a dataset in one file"
                )
            owner[chromosome] = path


def _publication_text(path: Path | None) -> str | None:
    """The metadata file's text, checked before the (long) build starts."""
    if path is None:
        return None
    try:
        return index_dir.read_publication_file(Path(path))[0]
    except ConfigError as exc:
        raise IndexBuildError(f"--metadata: {exc.message}") from exc


def build_index(options: BuildOptions) -> BuildReport:
    """Build (or rebuild) a dataset index and swap it in atomically."""
    return _build(options, fast_text=True)


def _build(options: BuildOptions, *, fast_text: bool) -> BuildReport:
    """:func:`build_index`; ``fast_text=False`` reads every file with pysam (tests)."""
    started = time.monotonic()
    config = reader_config(options, fast_text)
    publication = _publication_text(options.metadata)
    out = Path(options.out).absolute()
    previous = index_dir.check_target(out)
    reference = FastaReference(config.reference, config.assembly) if config.reference else None
    readers = open_readers(config, reference)
    # Workers lay their values out as the readers here do.
    config = dataclasses.replace(config, groups=tuple(readers[0].encoder.codec.groups))
    hasher = _Hasher(config.inputs)
    hasher.start()
    tmp = index_dir.start_build(out)
    duplicates = _Duplicates(config)
    writer = SortedWriter(tmp, batch_size=options.batch_size, on_duplicate=duplicates)
    per_file = [Stats() for _ in readers]
    stats = Stats()
    try:
        _read_all(options, config, readers, writer, per_file)
        for part in per_file:
            stats.merge(part)
        variant_count = writer.finish()
        tally = options.check
        if tally is not None:
            _check_values(tmp, tally, ValueCodec(config.dataset_id, config.groups))
        summary = IndexSummary.of(
            str(config.assembly), readers, per_file, variant_count, duplicates.count,
            disclosure=tally,
        )  # fmt: skip
        hasher.join()
        if hasher.error is not None:
            raise IndexBuildError(f"cannot hash the inputs: {hasher.error}")
        seconds = time.monotonic() - started
        metadata = _metadata(options, config, readers, stats, variant_count, duplicates.count)
        metadata.source_sha256 = hasher.digest
        metadata.variant_ids, metadata.variant_id_count = True, writer.id_count
        metadata.build_seconds = round(seconds, 3)
        if tally is not None:
            metadata.disclosure_check = tally.to_json()
        index_dir.write_metadata(tmp, metadata)
        if publication is not None:
            index_dir.write_publication(tmp, publication)
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
        summary=summary,
    )


class _Duplicates:
    """The writer's ``on_duplicate``: two records normalizing to one variant.

    Refused naming both records, or (``--skip-duplicates``) counted.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.count = 0

    def __call__(self, key: bytes, value: bytes, origin: Origin, earlier: Origin | None) -> None:
        config = self.config
        if config.skip:
            self.count += 1
            return
        variant = ValueCodec(config.dataset_id, config.groups).decode_frequency(value).variant
        name = f"{variant.chromosome}-{variant.position}-{variant.reference_bases}-"
        name += variant.alternate_bases
        raise IndexBuildError(
            f"records {origin_text(earlier) if earlier else 'an earlier record'} and "
            f"{origin_text(origin)} both normalize to {name}",
            reason="DUPLICATE_VARIANT",
        )


def _read_all(
    options: BuildOptions,
    config: Config,
    readers: Sequence[PysamReader],
    writer: SortedWriter,
    per_file: Sequence[Stats],
) -> None:
    """Every input into ``writer``: in ``--jobs`` processes when the inputs can be split."""
    order = key_order(readers, config.assembly) if len(readers) > 1 else [0]
    with Progress(options.progress, len(readers)) as progress:
        if options.jobs > 1 and all(r.splittable() for r in readers):
            tasks = [t for i in order for t in readers[i].tasks(i)]
            run_parallel(config, tasks, writer, per_file, progress.advance, options.jobs)
            return
        if options.jobs > 1:
            log.warning("--jobs needs bgzipped or indexed (.tbi/.csi) inputs; reading serially")
        for i in order:
            readers[i].run(Task(i), writer.add, per_file[i], progress.advance)


def _check_values(directory: Path, check: ValueCheck, codec: ValueCodec) -> None:
    """Hand every value of the new (unpublished) index to ``check``, in key order."""
    env = lmdb.open(str(directory), readonly=True, lock=False, subdir=True, readahead=False)
    try:
        with env.begin(buffers=False) as txn:
            for value in txn.cursor().iternext(keys=False, values=True):
                check.add(value, codec)
    except lmdb.Error as exc:
        raise IndexBuildError(f"cannot read the new index under {directory}: {exc}") from exc
    finally:
        env.close()


def _metadata(
    options: BuildOptions,
    config: Config,
    readers: Sequence[PysamReader],
    stats: Stats,
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
        source=options.source,
        source_reference=options.source_reference,
        sample_count=sample_count,
        populations=list(config.groups[1:]),
        groups=list(config.groups),
        variant_count=variant_count,
        source_files=[str(Path(p).absolute()) for p in config.inputs],
        created_time=index_dir.utc_now(),
        info_convention=",".join(sorted({r.convention for r in readers})),
        convention=readers[0].detection.to_json(),
        skipped={"invalid": stats.invalid, "symbolic": stats.symbolic, "duplicate": duplicates},
        skipped_alleles=dict(sorted(stats.kinds.items())),
        built_tier=options.tier,
    )
