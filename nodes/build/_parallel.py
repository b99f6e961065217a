"""Reading a dataset's inputs: in which order, and in ``--jobs`` worker processes.

Per-chromosome files (a Hail export) arrive in any order (``chr1, chr10, ..., chr2``
sorted by name); read in that order, every file after the first whose chromosome
sorts lower than the last one written turns LMDB's append-only writes into random
puts and a compaction at the end. :func:`key_order` reads them in key order instead.

Workers are *spawned* (not forked: the builder runs threads); each keeps one open
reader at a time and one INFO cache per header, so that a dataset of many files
costs what one file does.
"""

from __future__ import annotations

import bisect
import multiprocessing
from collections import deque
from collections.abc import Callable, Sequence
from itertools import accumulate, chain, groupby, repeat
from operator import itemgetter
from typing import Any, NamedTuple

from mesh.errors import InvalidArgumentError
from mesh.model.genome import CONTIG_CODES, Assembly, canonical_chromosome
from mesh.model.reference import FastaReference
from nodes.build._info_text import CountCache
from nodes.build._reader import Config, Item, Origin, PysamReader, Stats, Task, indexed_contigs
from nodes.build._text_reader import TextReader
from nodes.index.writer import SortedWriter

_WORKER: dict[int, PysamReader] = {}
_WORKER_CONFIG: list[Config] = []
_WORKER_REFERENCE: list[FastaReference | None] = []
#: The worker's INFO caches, by header: the next file of the same header starts warm.
_WORKER_CACHES: dict[bytes, CountCache] = {}


def open_reader(
    config: Config, file_index: int, reference: Any, caches: dict[bytes, CountCache]
) -> PysamReader:
    """The reader of one input: sites VCF text by the fast path when it can.

    ``caches``: the INFO caches of the files read before (shared by same headers).
    """
    if config.fast_text:
        return TextReader(config, file_index, reference, caches)
    return PysamReader(config, file_index, reference)


def key_order(readers: Sequence[PysamReader], assembly: Assembly) -> list[int]:
    """The inputs' indexes, files of lower chromosomes first (as keys sort).

    Which file is read first changes nothing stored: the chromosomes of a dataset's
    indexed files were checked apart, so no variant can be in two of them. A file
    without an index (its chromosomes unknown here) keeps the order given, as does
    every file when any one is unknown.
    """
    firsts: list[tuple[int, str]] = []
    for reader in readers:
        contigs = indexed_contigs(reader.vcf)
        if not contigs:
            return list(range(len(readers)))
        firsts.append(min(_contig_rank(c, assembly) for c in contigs))
    return sorted(range(len(readers)), key=lambda i: firsts[i])


def _contig_rank(contig: str, assembly: Assembly) -> tuple[int, str]:
    try:
        return CONTIG_CODES[canonical_chromosome(contig, assembly)], ""
    except (InvalidArgumentError, KeyError):
        return len(CONTIG_CODES) + 1, contig  # refused per record later; any order


class Columns(NamedTuple):
    """A task's items as columns: a few large objects to pickle, not nested tuples.

    Unpickling and adding a tuple per item was the parent's bottleneck at ``--jobs 2``.
    The origins' path and chromosome go as runs (they change once per file or
    contig), the floors as runs too (one per record, shared by its alleles).
    """

    keys: tuple[bytes, ...]
    values: tuple[bytes, ...]
    places: list[tuple[tuple[str, str], int]]  # (path, chrom), how many items
    positions: list[int]
    ids: list[bytes]
    floors: list[bytes]
    floor_ends: list[int]  # item index after each floor's run

    @staticmethod
    def of(items: Sequence[Item]) -> Columns:
        """``items`` in columns."""
        if not items:
            return Columns((), (), [], [], [], [], [])
        keys, values, origins, floors = zip(*items, strict=True)
        places = [(place, len(list(run))) for place, run in groupby(map(itemgetter(0, 1), origins))]
        floor_runs = [(floor, len(list(run))) for floor, run in groupby(floors)]
        return Columns(
            keys,
            values,
            places,
            list(map(itemgetter(2), origins)),
            list(map(itemgetter(3), origins)),
            [floor for floor, _ in floor_runs],
            list(accumulate(count for _, count in floor_runs)),
        )

    def origins(self) -> list[Origin]:
        """Each item's origin, as the reader gave it."""
        paths = chain.from_iterable(repeat(place[0], n) for place, n in self.places)
        chroms = chain.from_iterable(repeat(place[1], n) for place, n in self.places)
        return list(zip(paths, chroms, self.positions, self.ids, strict=True))

    def floor_at(self, index: int) -> bytes:
        """Item ``index``'s floor."""
        return self.floors[bisect.bisect_right(self.floor_ends, index)]

    def add_to(self, writer: SortedWriter) -> None:
        """Every item into ``writer``, as ``writer.add`` of each in order would."""
        writer.add_many(self.keys, self.values, self.origins(), self.floor_at)


def _worker_init(config: Config) -> None:
    _WORKER_CONFIG.append(config)


def _worker_run(task: Task) -> tuple[Columns, Stats]:
    reader = _WORKER.get(task.file_index)
    if reader is None:
        # One open reader per worker (tasks come file by file) and one INFO cache per
        # header: a cache per file (up to 32 MB each, started cold) took a per-chromosome
        # dataset's 25 files 1.4 GB per worker and 2.5x the CPU of one file.
        for other in _WORKER.values():
            other.close()
        _WORKER.clear()
        config = _WORKER_CONFIG[0]
        if not _WORKER_REFERENCE:  # one FASTA handle for all of this worker's files
            reference = (
                FastaReference(config.reference, config.assembly) if config.reference else None
            )
            _WORKER_REFERENCE.append(reference)
        reader = _WORKER[task.file_index] = open_reader(
            config, task.file_index, _WORKER_REFERENCE[0], _WORKER_CACHES
        )
    items: list[Item] = []
    stats = Stats()
    reader.run(task, lambda *item: items.append(item), stats, lambda _n: None)
    return Columns.of(items), stats


def run_parallel(
    config: Config,
    tasks: Sequence[Task],
    writer: SortedWriter,
    per_file: Sequence[Stats],
    advance: Callable[[int], None],
    jobs: int,
) -> None:
    """Read ``tasks`` in ``jobs`` processes; write their items here, in task order."""
    todo = iter(tasks)
    # spawn, not fork: the hashing thread (and rich's) must not be forked mid-flight.
    context = multiprocessing.get_context("spawn")
    with context.Pool(jobs, initializer=_worker_init, initargs=(config,)) as pool:
        pending: deque[tuple[int, Any]] = deque()

        def submit() -> None:
            task = next(todo, None)
            if task is not None:
                pending.append((task.file_index, pool.apply_async(_worker_run, (task,))))

        for _ in range(jobs + 1):  # results are held in memory: keep the window small
            submit()
        while pending:
            file_index, result = pending.popleft()
            columns, task_stats = result.get()
            submit()
            columns.add_to(writer)
            per_file[file_index].merge(task_stats)
            advance(task_stats.records)
