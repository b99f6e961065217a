"""The in-process tabix baseline: one ``pysam.TabixFile.fetch`` per variant, timed.

The cheapest honest alternative to the index: fetch the record's position and match
POS, REF and ALT in the returned lines. The store figure compares single index gets
with it, the node figure sequential 1,000-variant batches; both use this class so
the baseline is the same loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import pysam

from bench.data import SampledAllele

T = TypeVar("T")
#: ``(chrom, pos, pos as text, ref, alt)``: what one fetch needs, prepared before timing.
Query = tuple[str, int, str, str, str]


def timed(items: Sequence[T], one: Callable[[T], bool]) -> tuple[list[float], int]:
    """Per-item latencies (seconds) of ``one`` over ``items`` and how many it found."""
    latencies = []
    found = 0
    clock = time.perf_counter
    for item in items:
        t0 = clock()
        found += one(item)
        latencies.append(clock() - t0)
    return latencies, found


def throughput(items: Sequence[T], one: Callable[[T], object]) -> float:
    """Items per second of ``one`` over ``items`` in an untimed loop (wall clock).

    No clock call per item: at ~2 µs per index get, per-item timing (two clock calls and
    an append, ~0.15 µs) would be charged to the faster side.
    """
    t0 = time.perf_counter()
    for item in items:
        one(item)
    return len(items) / (time.perf_counter() - t0)


def queries(alleles: Sequence[SampledAllele]) -> list[Query]:
    """The prepared tabix queries of ``alleles``."""
    return [(a.chrom, a.pos, str(a.pos), a.ref, a.alt) for a in alleles]


class Tabix:
    """An open tabix-indexed VCF answering "is this allele there?"."""

    def __init__(self, vcf: Path) -> None:
        self._file = pysam.TabixFile(str(vcf))

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def find(self, query: Query) -> bool:
        """Whether the record of ``query`` is in the file (POS, REF and one ALT match)."""
        chrom, pos, pos_text, ref, alt = query
        for line in self._file.fetch(chrom, pos - 1, pos):
            fields = line.split("\t", 5)
            if fields[1] == pos_text and fields[3] == ref and alt in fields[4].split(","):
                return True
        return False
