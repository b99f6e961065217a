"""The pooling rule: exact sums, rounded makes ROUNDED, suppressed contributes nothing."""

from __future__ import annotations

import pytest

from mesh.federation import pool_counts
from mesh.v1 import allele_pb2

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED


def counts(ac, an, hom=0, het=0, hemi=0, precision=EXACT):
    return allele_pb2.AlleleCounts(
        allele_count=ac, allele_number=an, homozygous_count=hom, heterozygous_count=het,
        hemizygous_count=hemi, precision=precision, allele_frequency=ac / an if an else 0.0,
    )  # fmt: skip


def test_exact_counts_are_summed():
    pooled = pool_counts([counts(3, 100, 1, 1, 0), counts(5, 50, 0, 3, 2)])
    assert (pooled.allele_count, pooled.allele_number) == (8, 150)
    assert (pooled.homozygous_count, pooled.heterozygous_count, pooled.hemizygous_count) == (
        1,
        4,
        2,
    )
    assert pooled.allele_frequency == pytest.approx(8 / 150)
    assert pooled.precision == EXACT


def test_unspecified_precision_counts_as_exact():
    pooled = pool_counts([counts(1, 10, precision=allele_pb2.COUNT_PRECISION_UNSPECIFIED)])
    assert (pooled.allele_count, pooled.precision) == (1, EXACT)


def test_rounded_makes_pool_rounded():
    pooled = pool_counts([counts(3, 100), counts(10, 200, precision=ROUNDED)])
    assert (pooled.allele_count, pooled.allele_number, pooled.precision) == (13, 300, ROUNDED)


def test_suppressed_contributes_nothing_and_pool_is_not_exact():
    pooled = pool_counts([counts(3, 100), counts(7, 70, precision=SUPPRESSED)])
    assert (pooled.allele_count, pooled.allele_number) == (3, 100)
    assert pooled.precision == ROUNDED


def test_only_suppressed_pools_to_suppressed_absent_counts():
    """Nothing was summed: every count of the pool is absent (unknown), never a 0."""
    pooled = pool_counts([counts(3, 100, 1, 1, 0, precision=SUPPRESSED)])
    assert pooled.precision == SUPPRESSED
    fields = ("allele_count", "allele_number", "allele_frequency", "homozygous_count",
              "heterozygous_count", "hemizygous_count")  # fmt: skip
    assert [f for f in fields if pooled.HasField(f)] == []


def test_nothing_pools_to_exact_zero():
    pooled = pool_counts([])
    assert (pooled.allele_number, pooled.allele_frequency, pooled.precision) == (0, 0.0, EXACT)
