"""Counts with presence, as tuples tests compare: ``None`` where an answer has no count."""

from __future__ import annotations

from collections.abc import Iterable

from mesh.v1 import allele_pb2
from tests.vcf_factory import Counts

FIELDS = (
    "allele_count",
    "allele_number",
    "homozygous_count",
    "heterozygous_count",
    "hemizygous_count",
)


def as_tuple(counts: allele_pb2.AlleleCounts) -> Counts:
    """(AC, AN, hom, het, hemi) of a message, ``None`` where a count is absent."""
    has = counts.HasField
    ac, an, hom, het, hemi = (getattr(counts, f) if has(f) else None for f in FIELDS)  # type: ignore[arg-type]
    return ac, an, hom, het, hemi


def pool_tuples(rows: Iterable[Counts]) -> Counts:
    """Sums per count; a count unknown in any part is unknown in the pool (the rule)."""
    rows = list(rows)
    ac, an, hom, het, hemi = (
        None if any(r[i] is None for r in rows) else sum(r[i] or 0 for r in rows) for i in range(5)
    )
    return ac, an, hom, het, hemi
