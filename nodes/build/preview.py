"""``allelemesh index preview``: what a build of these files would yield, writing nothing.

The files are read by the builder's own readers (:mod:`nodes.build._reader`,
:mod:`nodes.build._text_reader`) with ``on_error="skip"`` so that every problem is
counted (the first few named), from the start of each file: the first
:data:`SAMPLE_RECORDS` records, or all of them. Each allele's stored value, exactly as
the build would write it, goes to the :class:`~nodes.build.index_summary.ValueCheck`
the CLI passes in (with ``--policy``, the node's serving rule; this half never imports
the serving one). Nothing is written: no index, no temporary file (a line the fast
reader hands to pysam goes through an in-memory file), and a FASTA without its ``.fai``
is refused rather than indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.errors import IndexBuildError
from mesh.model.genome import Assembly
from mesh.model.reference import FastaReference
from nodes.build._reader import Origin, PysamReader, Stats, Task
from nodes.build.builder import BuildOptions, Progress, open_readers, reader_config
from nodes.build.index_summary import IndexSummary, ValueCheck

#: Records read from the start of each file without ``--all``.
SAMPLE_RECORDS = 10_000
#: Keys held to find duplicates; past this, those the input has moved past are let go.
_WINDOW = 1_000_000


@dataclass
class PreviewOptions:
    """Everything ``allelemesh index preview`` takes."""

    inputs: Sequence[Path]
    assembly: Assembly = Assembly.GRCH38
    info_map: Path | None = None
    samples: Path | None = None
    reference: Path | None = None
    #: Sees each stored value (``--policy``: the disclosure tally); ``None``: none.
    check: ValueCheck | None = None
    #: The gnomAD v4 count set (``--subset``), as for the build.
    subset: str = ""
    #: Read every record, not the first :data:`SAMPLE_RECORDS` of each file.
    all_records: bool = False
    #: ``None``: a progress bar when stderr is a terminal (``--all`` only).
    progress: bool | None = None


class _Keys:
    """Which keys were seen, as the build's writer tells duplicates (the first one wins)."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.count = 0
        self.duplicates = 0
        self.let_go: bytes | None = None  # the highest key forgotten
        self.unsorted = False
        self._next_check = _WINDOW

    def first(self, key: bytes, floor: bytes) -> bool:
        """Whether ``key`` is new (``floor``: the lowest key later items can have)."""
        if key in self.seen:
            self.duplicates += 1
            return False
        if self.let_go is not None and key <= self.let_go:
            self.unsorted = True  # it may repeat a key already let go
        self.seen.add(key)
        self.count += 1
        if len(self.seen) > self._next_check:
            old = [k for k in self.seen if k < floor]
            if old:
                self.let_go = max(old) if self.let_go is None else max(self.let_go, *old)
                self.seen.difference_update(old)
            self._next_check = len(self.seen) + _WINDOW // 4
        return True


def preview(options: PreviewOptions) -> IndexSummary:
    """Read the inputs as a build would and summarize them; write nothing."""
    build = BuildOptions(
        inputs=options.inputs,
        dataset_id="preview",
        out=Path("."),
        assembly=options.assembly,
        samples=options.samples,
        reference=options.reference,
        info_map=options.info_map,
        on_error="skip",
        subset=options.subset,
    )
    config = reader_config(build, fast_text=True)
    if config.reference is not None and not Path(f"{config.reference}.fai").is_file():
        raise IndexBuildError(
            f"reference {config.reference} has no .fai index, and the preview writes nothing: "
            f"index it first with `samtools faidx {config.reference}`"
        )
    reference = FastaReference(config.reference, config.assembly) if config.reference else None
    readers: list[PysamReader] = []
    try:
        readers = open_readers(config, reference)
        return _read(options, readers)
    finally:
        for reader in readers:
            reader.close()
        if reference is not None:
            reference.close()


def _read(options: PreviewOptions, readers: Sequence[PysamReader]) -> IndexSummary:
    tally = options.check
    keys = _Keys()
    codec = readers[0].encoder.codec  # every reader lays values out in the dataset's groups

    def emit(key: bytes, value: bytes, _origin: Origin, floor: bytes) -> None:
        if keys.first(key, floor) and tally is not None:
            tally.add(value, codec)

    limit = None if options.all_records else SAMPLE_RECORDS
    per_file = []
    enabled = options.progress if options.all_records else False
    with Progress(enabled, len(readers), "previewing") as progress:
        for i, reader in enumerate(readers):
            stats = Stats()
            reader.run(Task(i, limit=limit), emit, stats, progress.advance)
            per_file.append(stats)
    notes = []
    if keys.unsorted:
        notes.append(
            "the input is not sorted by position: duplicates of variants read long before "
            "may not be counted here (the build finds them all)"
        )
    return IndexSummary.of(
        str(options.assembly),
        readers,
        per_file,
        variants=keys.count,
        duplicates=keys.duplicates,
        sample_records=limit,
        disclosure=tally,
        notes=notes,
    )
