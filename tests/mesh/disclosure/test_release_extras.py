"""grpmax/faf95 (``VariantFrequency.extras``) go out only with counts released as stored.

Each case builds a gnomAD-like frequency whose extras were derived (here, by the test)
from its own population counts, releases it through the node's policy and the mesh
floor, and expects the extras kept exactly when the test's own reading of the data
says nothing was touched: no cell under the two-tailed allele floor, no rounding, no
row dropped; otherwise cleared (a grpmax of a withheld cell would give its AC back).
"""

from __future__ import annotations

import pytest

from mesh.disclosure import DisclosureRules, disclose_released
from mesh.v1 import allele_pb2
from nodes.serve.policy import Granularity, PrivacyPolicy, release

#: label -> (AC, AN); "" is the total (the sum of the others).
CELLS = {"afr": (30, 800), "nfe": (4, 1200), "eas": (10, 1000)}


def _frequency(cells: dict[str, tuple[int, int]]) -> allele_pb2.VariantFrequency:
    total = tuple(sum(c[i] for c in cells.values()) for i in (0, 1))
    frequency = allele_pb2.VariantFrequency(
        variant=allele_pb2.Variant(
            chromosome="1", position=100, reference_bases="A", alternate_bases="G"
        ),
        counts=allele_pb2.AlleleCounts(allele_count=total[0], allele_number=total[1]),
    )
    for label, (ac, an) in cells.items():
        frequency.populations.add(
            population=label, counts=allele_pb2.AlleleCounts(allele_count=ac, allele_number=an)
        )
    top = max(cells, key=lambda k: cells[k][0] / cells[k][1])
    extras = frequency.extras
    extras.grpmax_group = top
    extras.grpmax_allele_count, extras.grpmax_allele_number = cells[top]
    extras.grpmax_allele_frequency = cells[top][0] / cells[top][1]
    extras.faf95_max, extras.faf95_max_group = 0.03, top
    extras.faf95[top] = 0.03
    return frequency


def _untouched(min_allele_count: int, round_to: int, min_population_size: int) -> bool:
    """The test's own rule: every cell passes both tails, no rounding, no small row."""
    total = (sum(c[0] for c in CELLS.values()), sum(c[1] for c in CELLS.values()))
    for ac, an in (*CELLS.values(), total):
        for tail in (ac, an - ac):
            if 0 < tail < min_allele_count:
                return False
        if an // 2 < min_population_size:
            return False
    return round_to <= 1


CASES = [
    (0, 0, 0),  # no policy
    (3, 0, 0),  # a floor nothing is under
    (5, 0, 0),  # nfe (AC 4) under the floor: withheld
    (0, 10, 0),  # rounding
    (0, 0, 450),  # afr (400 individuals) dropped as small
    (2, 1, 0),  # a floor nothing is under; rounding to 1 is no rounding
]


@pytest.mark.parametrize(("min_ac", "round_to", "min_size"), CASES)
def test_node_release_keeps_extras_only_for_exact_counts(min_ac, round_to, min_size):
    frequency = _frequency(CELLS)
    policy = PrivacyPolicy(
        min_allele_count=min_ac, round_counts_to=round_to, min_population_size=min_size
    )
    release(frequency, Granularity.RECORD, policy)
    expected = _untouched(min_ac, round_to, min_size)
    assert frequency.HasField("extras") is expected
    if expected:
        assert frequency.extras == _frequency(CELLS).extras  # as stored, nothing changed


@pytest.mark.parametrize("granularity", [Granularity.COUNT, Granularity.BOOLEAN])
def test_coarser_granularities_never_carry_extras(granularity):
    frequency = _frequency(CELLS)
    release(frequency, granularity, PrivacyPolicy())
    assert not frequency.HasField("extras")


@pytest.mark.parametrize("min_ac", [0, 3, 5, 11])
def test_the_mesh_floor_clears_extras_when_it_withholds(min_ac):
    frequency = _frequency(CELLS)
    disclose_released(frequency, DisclosureRules(min_allele_count=min_ac))
    assert frequency.HasField("extras") is _untouched(min_ac, 0, 0)


def test_a_frequency_without_extras_is_released_as_before():
    with_extras = _frequency(CELLS)
    without = _frequency(CELLS)
    without.ClearField("extras")
    for policy in (PrivacyPolicy(), PrivacyPolicy(min_allele_count=5, round_counts_to=10)):
        a, b = allele_pb2.VariantFrequency(), allele_pb2.VariantFrequency()
        a.CopyFrom(with_extras)
        b.CopyFrom(without)
        release(a, Granularity.RECORD, policy)
        release(b, Granularity.RECORD, policy)
        a.ClearField("extras")
        assert a == b
