"""Counts with presence, as tuples tests compare: ``None`` where an answer has no count."""

from __future__ import annotations

from collections.abc import Iterable

from mesh.v1 import allele_pb2

FIELDS = (
    "allele_count",
    "allele_number",
    "homozygous_count",
    "heterozygous_count",
    "hemizygous_count",
)
CountTuple = tuple[int | None, ...]


def as_tuple(counts: allele_pb2.AlleleCounts) -> CountTuple:
    """(AC, AN, hom, het, hemi) of a message, ``None`` where a count is absent."""
    return tuple(getattr(counts, f) if counts.HasField(f) else None for f in FIELDS)  # type: ignore[arg-type]


def pool_tuples(rows: Iterable[CountTuple]) -> CountTuple:
    """Sums per count; a count unknown in any part is unknown in the pool (the rule)."""
    rows = list(rows)
    return tuple(
        None if any(r[i] is None for r in rows) else sum(r[i] or 0 for r in rows) for i in range(5)
    )
