"""Pooling per count field: each of the five counts is read, summed and marked unknown on its own.

The gateway's pooling reads the five counts unrolled (not by looping over their names),
so every field is checked separately here against sums computed in the test.
"""

from __future__ import annotations

import itertools

import pytest

from mesh.federation import CountPool, pool_counts
from mesh.model.wire import COUNT_FIELDS
from mesh.v1 import allele_pb2

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
#: Distinct values per field and part, so a field summed into another shows.
VALUES = {name: (10 ** (i + 1), 3 * 10 ** (i + 1)) for i, name in enumerate(COUNT_FIELDS)}


def part(index: int, present: frozenset[str], precision: int = EXACT) -> allele_pb2.AlleleCounts:
    item = allele_pb2.AlleleCounts(precision=precision)
    for name in present:
        setattr(item, name, VALUES[name][index])
    return item


def test_the_five_count_fields_are_the_ones_pooled():
    # The unrolled reader names these five in this order; a sixth count must be added there.
    assert COUNT_FIELDS == (
        "allele_count",
        "allele_number",
        "homozygous_count",
        "heterozygous_count",
        "hemizygous_count",
    )


@pytest.mark.parametrize("missing", COUNT_FIELDS)
def test_a_count_one_part_lacks_is_absent_and_only_that_one(missing):
    everything = frozenset(COUNT_FIELDS)
    pooled = pool_counts([part(0, everything), part(1, everything - {missing})])
    for name in COUNT_FIELDS:
        if name == missing:
            assert not pooled.HasField(name), name
        else:
            assert getattr(pooled, name) == sum(VALUES[name]), name


def test_every_presence_pattern_pools_as_summed_by_hand():
    fields = COUNT_FIELDS
    for first, second in itertools.product(range(2 ** len(fields)), repeat=2):
        present = [
            frozenset(f for i, f in enumerate(fields) if mask >> i & 1) for mask in (first, second)
        ]
        parts = [part(0, present[0]), part(1, present[1], ROUNDED)]
        pooled = pool_counts(parts)
        # Parts with neither AC nor AN (and no AF) still count: they are not frequency-only.
        for name in fields:
            if name in present[0] and name in present[1]:
                assert getattr(pooled, name) == sum(VALUES[name]), (first, second, name)
            else:
                assert not pooled.HasField(name), (first, second, name)
        assert pooled.precision == ROUNDED


def test_frequency_only_part_is_skipped_not_unknown():
    counted = part(0, frozenset(COUNT_FIELDS))
    af_only = allele_pb2.AlleleCounts(allele_frequency=0.25, homozygous_count=7)
    pooled = pool_counts([counted, af_only])
    for name in COUNT_FIELDS:
        assert getattr(pooled, name) == VALUES[name][0], name
    assert pooled.precision == ROUNDED  # a part skipped: a lower bound


def test_count_pool_marks_each_unknown_count_by_position():
    for position in range(5):
        pool = CountPool()
        counts: list[int | None] = [1, 2, 3, 4, 5]
        counts[position] = None
        pool.add(tuple(counts), EXACT)
        pool.add((10, 20, 30, 40, 50), EXACT)
        sums, precision = pool.result()
        expected = [11, 22, 33, 44, 55]
        expected[position] = None  # type: ignore[call-overload]
        assert list(sums) == expected
        assert precision == EXACT
