"""mesh.disclosure against an independent judge: floors, complementary suppression, rounding.

The data are made from individuals (per group and sex: samples, hom, het), so every
row is consistent; the partitions are stated here from how the data were made, and
:class:`tests.disclosure_oracle.ReleaseJudge` solves the released system by exact
integer search for every withheld cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from mesh.disclosure import DisclosureRules, Partition, disclose, disclose_released, round_frequency
from mesh.federation import pool_counts
from mesh.v1 import allele_pb2
from tests.disclosure_oracle import ReleaseJudge, UndecidedError, meets

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
Counts = tuple[int, int, int, int, int]


def floors(min_individuals: int, min_allele_count: int) -> tuple[int, int]:
    """(allele floor, individual floor) as the README states them, written out again."""
    individuals = max(min_individuals, (min_allele_count + 1) // 2)
    return max(min_allele_count, 2 * min_individuals - 1), individuals


@dataclass
class Dataset:
    """One variant's rows, made from groups of individuals, and their true partitions."""

    raw: dict[str, Counts]
    partitions: list[tuple[str, list[str]]]


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    countries = draw(st.lists(st.sampled_from(["FR", "NO", "SE"]), unique=True, max_size=3))
    groups = countries + (["other"] if draw(st.booleans()) else [])
    sex_labels = draw(st.booleans())
    sexes = ["M", "F"] + (["U"] if draw(st.booleans()) else [])
    split = {c: draw(st.booleans()) for c in countries}
    size = draw(st.sampled_from([4, 10, 25]))
    atoms: dict[tuple[str, str], Counts] = {}
    for group in groups or ["other"]:
        for sex in sexes:
            n = draw(st.integers(0, size))
            hom = draw(st.integers(0, n))
            het = draw(st.integers(0, n - hom))
            atoms[(group, sex)] = (2 * hom + het, 2 * n, hom, het, 0)

    def total(pick) -> Counts:
        rows = [c for key, c in atoms.items() if pick(*key)]
        return tuple(sum(c[i] for c in rows) for i in range(5))  # type: ignore[return-value]

    raw = {"Total": total(lambda g, s: True)}
    partitions: list[tuple[str, list[str]]] = []
    if sex_labels:
        raw["M"], raw["F"] = total(lambda g, s: s == "M"), total(lambda g, s: s == "F")
        partitions.append(("Total", ["M", "F"]))
    for c in countries:
        raw[c] = total(lambda g, s, c=c: g == c)
    if countries:
        partitions.append(("Total", list(countries)))
    splits = [c for c in countries if split[c]]
    for c in splits:
        raw[f"{c}_M"] = total(lambda g, s, c=c: g == c and s == "M")
        raw[f"{c}_F"] = total(lambda g, s, c=c: g == c and s == "F")
        partitions.append((c, [f"{c}_M", f"{c}_F"]))
    if sex_labels and splits:
        partitions += [(s, [f"{c}_{s}" for c in splits]) for s in ("M", "F")]
    return Dataset(raw, partitions)


def counts_message(c: Counts) -> allele_pb2.AlleleCounts:
    message = allele_pb2.AlleleCounts(
        allele_count=c[0], allele_number=c[1], homozygous_count=c[2], heterozygous_count=c[3],
        hemizygous_count=c[4], precision=EXACT,
    )  # fmt: skip
    if c[1]:
        message.allele_frequency = c[0] / c[1]
    return message


def frequency_of(raw: dict[str, Counts], chromosome: str = "1") -> allele_pb2.VariantFrequency:
    frequency = allele_pb2.VariantFrequency(dataset_id="ds", counts=counts_message(raw["Total"]))
    frequency.variant.chromosome = chromosome
    for label, c in raw.items():
        if label != "Total":
            frequency.populations.add(population=label, counts=counts_message(c))
    return frequency


def released_rows(frequency: allele_pb2.VariantFrequency) -> dict[str, allele_pb2.AlleleCounts]:
    rows = {"Total": frequency.counts}
    rows.update({p.population: p.counts for p in frequency.populations})
    return rows


def judge(data: Dataset, frequency, min_individuals: int, min_allele_count: int) -> ReleaseJudge:
    allele_floor, individual_floor = floors(min_individuals, min_allele_count)
    return ReleaseJudge(
        data.raw,
        released_rows(frequency),
        data.partitions,
        allele_floor=allele_floor,
        individual_floor=individual_floor,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=datasets(),
    min_individuals=st.integers(0, 5),
    min_allele_count=st.sampled_from([0, 2, 3, 5, 8]),
    collapse=st.booleans(),
)
def test_nothing_withheld_can_be_recomputed(data, min_individuals, min_allele_count, collapse):
    frequency = frequency_of(data.raw)
    disclose(frequency, DisclosureRules(min_individuals, min_allele_count, collapse))
    rows = released_rows(frequency)
    for label, counts in rows.items():
        if counts.precision != SUPPRESSED:  # released as they are
            assert (counts.allele_count, counts.allele_number) == data.raw[label][:2], label
    if collapse:
        withheld = [p for p in frequency.populations if p.counts.precision == SUPPRESSED]
        assert not withheld, "collapse leaves the total alone, never a withheld row"
    try:
        judge(data, frequency, min_individuals, min_allele_count).check()
    except UndecidedError:  # rare (none in 1,000 examples when written): too large to judge
        reject()


def test_issue_example_is_no_longer_recomputable():
    """Total AC 40; M 38, F 2; NO 37, FR 3; min_allele_count 5 (issue 20)."""
    raw = {
        "Total": (40, 2000, 0, 40, 0),
        "M": (38, 1000, 0, 38, 0),
        "F": (2, 1000, 0, 2, 0),
        "NO": (37, 1800, 0, 37, 0),
        "FR": (3, 200, 0, 3, 0),
    }
    frequency = frequency_of(raw)
    disclose(frequency, DisclosureRules(min_allele_count=5))
    rows = released_rows(frequency)
    assert rows["Total"].allele_count == 40
    # M = 40 - F and NO = 40 - FR: both go with the rows under the floor
    assert {k for k, c in rows.items() if c.precision == SUPPRESSED} == {"M", "F", "NO", "FR"}
    data = Dataset(raw, [("Total", ["M", "F"]), ("Total", ["NO", "FR"])])
    judge(data, frequency, 0, 5).check()


def test_issue_example_with_samples_outside_the_partitions():
    """Samples of unknown sex: F + remainder = 40 - 38 = 2 would bound F under 5."""
    raw = {
        "Total": (40, 2000, 0, 40, 0),
        "M": (38, 900, 0, 38, 0),
        "F": (2, 900, 0, 2, 0),
    }
    frequency = frequency_of(raw)
    disclose(frequency, DisclosureRules(min_allele_count=5))
    rows = released_rows(frequency)
    assert rows["M"].precision == SUPPRESSED
    assert rows["F"].precision == SUPPRESSED
    judge(Dataset(raw, [("Total", ["M", "F"])]), frequency, 0, 5).check()


def test_a_remainder_under_the_floor_is_hidden_too():
    raw = {"Total": (40, 2000, 0, 40, 0), "NO": (36, 1000, 0, 36, 0), "FR": (2, 500, 0, 2, 0)}
    frequency = frequency_of(raw)
    disclose(frequency, DisclosureRules(min_allele_count=5))
    rows = released_rows(frequency)
    # FR < 5, and FR + rest = 40 - 36 = 4 would bound it under the floor: NO goes too
    assert rows["NO"].precision == SUPPRESSED
    judge(Dataset(raw, [("Total", ["NO", "FR"])]), frequency, 0, 5).check()


def test_nested_partitions_are_closed_under_suppression():
    """FR = FR_M + FR_F and M = FR_M + NO_M ...: a withheld FR_F is not FR - FR_M."""
    raw = {
        "Total": (60, 2000, 0, 60, 0),
        "M": (31, 1000, 0, 31, 0),
        "F": (29, 1000, 0, 29, 0),
        "FR": (30, 1000, 0, 30, 0),
        "NO": (30, 1000, 0, 30, 0),
        "FR_M": (28, 500, 0, 28, 0),
        "FR_F": (2, 500, 0, 2, 0),
        "NO_M": (3, 500, 0, 3, 0),
        "NO_F": (27, 500, 0, 27, 0),
    }
    frequency = frequency_of(raw)
    disclose(frequency, DisclosureRules(min_allele_count=5))
    rows = released_rows(frequency)
    assert rows["FR_F"].precision == SUPPRESSED
    assert rows["NO_M"].precision == SUPPRESSED
    parts = [
        ("Total", ["M", "F"]), ("Total", ["FR", "NO"]), ("FR", ["FR_M", "FR_F"]),
        ("NO", ["NO_M", "NO_F"]), ("M", ["FR_M", "NO_M"]), ("F", ["FR_F", "NO_F"]),
    ]  # fmt: skip
    judge(Dataset(raw, parts), frequency, 0, 5).check()


def test_the_rare_side_is_protected_too():
    frequency = frequency_of({"Total": (1998, 2000, 998, 2, 0)})
    disclose(frequency, DisclosureRules(min_allele_count=5))
    assert frequency.counts.precision == SUPPRESSED  # AN - AC = 2 names the non-carriers
    assert not frequency.counts.HasField("allele_count")
    assert not frequency.counts.HasField("allele_frequency")


@pytest.mark.parametrize(("hom", "het"), [(1, 38), (2, 36)])
def test_small_genotype_counts_are_absent(hom, het):
    frequency = frequency_of({"Total": (2 * hom + het, 2000, hom, het, 0)})
    disclose(frequency, DisclosureRules(min_individuals=3))
    assert frequency.counts.allele_count == 2 * hom + het
    for name in ("homozygous_count", "heterozygous_count", "hemizygous_count"):
        assert not frequency.counts.HasField(name)  # hom under 3 would give het back


def test_individual_floor_and_its_allele_form():
    assert floors(5, 0) == (9, 5)
    assert DisclosureRules(min_individuals=5).allele_floor == 9
    assert DisclosureRules(min_allele_count=5).individual_floor == 3
    frequency = frequency_of({"Total": (8, 2000, 0, 8, 0)})
    disclose(frequency, DisclosureRules(min_individuals=5))
    assert frequency.counts.precision == SUPPRESSED  # 8 alleles may be 4 people


def test_collapse_leaves_the_total_alone():
    raw = {"Total": (40, 2000, 0, 40, 0), "M": (38, 1000, 0, 38, 0), "F": (2, 1000, 0, 2, 0)}
    frequency = frequency_of(raw)
    disclose(frequency, DisclosureRules(min_allele_count=5, collapse=True))
    assert list(frequency.populations) == []
    assert frequency.counts.allele_count == 40


def test_declared_partitions_replace_the_label_rule():
    # "north"/"south" say nothing to the rule; declared, they partition Total
    raw = {"Total": (40, 2000, 0, 40, 0), "north": (38, 1000, 0, 38, 0),
           "south": (2, 1000, 0, 2, 0)}  # fmt: skip
    declared = DisclosureRules(
        min_allele_count=5, partitions=(Partition("Total", ("north", "south")),)
    )
    frequency = frequency_of(raw)
    disclose(frequency, declared)
    assert released_rows(frequency)["north"].precision == SUPPRESSED
    judge(Dataset(raw, [("Total", ["north", "south"])]), frequency, 0, 5).check()


def test_rounding_comes_after_suppression_and_covers_the_total():
    raw = {"Total": (47, 2000, 0, 47, 0), "M": (44, 1000, 0, 44, 0), "F": (3, 1000, 0, 3, 0)}
    frequency = frequency_of(raw)
    disclose(frequency, DisclosureRules(min_allele_count=5))
    round_frequency(frequency, 10)
    rows = released_rows(frequency)
    assert rows["Total"].allele_count == 50
    assert rows["Total"].precision == ROUNDED
    assert rows["F"].precision == SUPPRESSED
    assert rows["M"].precision == SUPPRESSED
    assert rows["Total"].allele_frequency == pytest.approx(50 / 2000)


def test_mesh_floor_over_rows_a_node_already_withheld():
    """The gateway cannot see withheld values: a released row under its floor collapses."""
    raw = {
        "Total": (80, 3000, 0, 80, 0),
        "M": (78, 1500, 0, 78, 0),
        "F": (2, 1500, 0, 2, 0),
        "NO": (60, 1000, 0, 60, 0),
        "FR": (6, 1000, 0, 6, 0),
        "DK": (14, 1000, 0, 14, 0),
    }
    parts = [("Total", ["M", "F"]), ("Total", ["NO", "FR", "DK"])]
    node = frequency_of(raw)
    disclose(node, DisclosureRules(min_allele_count=5))  # the node's own, weaker floor
    judge(Dataset(raw, parts), node, 0, 5).check()
    assert released_rows(node)["M"].precision == SUPPRESSED
    assert released_rows(node)["FR"].allele_count == 6  # 6 meets 5 ...
    disclose_released(node, DisclosureRules(min_individuals=5))  # ... not 9 alleles
    assert list(node.populations) == []
    assert node.counts.allele_count == 80
    judge(Dataset(raw, parts), node, 5, 0).check()
    exact = frequency_of(raw)  # a node without floors: the gateway runs the full rule
    disclose_released(exact, DisclosureRules(min_individuals=5))
    judge(Dataset(raw, parts), exact, 5, 0).check()
    assert released_rows(exact)["NO"].allele_count == 60


def test_pooled_counts_are_a_lower_bound_where_a_dataset_is_withheld():
    full = counts_message((10, 100, 1, 8, 0))
    withheld = allele_pb2.AlleleCounts(precision=SUPPRESSED)
    pooled = pool_counts([full, withheld])
    assert (pooled.allele_count, pooled.allele_number) == (10, 100)
    assert pooled.precision == ROUNDED  # a lower bound


def test_meets_is_two_tailed():
    assert meets(0, 100, 5)
    assert meets(5, 5, 5)
    assert not meets(4, 100, 5)
    assert not meets(96, 4, 5)
