"""Access rules and privacy safeguards, against hand-computed counts."""

from __future__ import annotations

import pytest

from mesh.security.identity import SpiffeId
from mesh.v1 import allele_pb2
from nodes.serve.policy import AccessRule, DatasetPolicy, Granularity, PrivacyPolicy, release

GATEWAY = SpiffeId.parse("spiffe://allelemesh.example/country/DE/gateway/eu-gw-1")
NODE_FI = SpiffeId.parse("spiffe://allelemesh.example/country/FI/node/fi-helsinki-1")
OPERATOR = SpiffeId.parse("spiffe://allelemesh.example/country/NO/operator/ops-1")


def counts(ac: int, an: int, hom: int = 0, het: int = 0, hemi: int = 0) -> allele_pb2.AlleleCounts:
    return allele_pb2.AlleleCounts(
        allele_count=ac, allele_number=an, allele_frequency=ac / an if an else 0.0,
        homozygous_count=hom, heterozygous_count=het, hemizygous_count=hemi,
        precision=allele_pb2.COUNT_PRECISION_EXACT,
    )  # fmt: skip


def frequency() -> allele_pb2.VariantFrequency:
    return allele_pb2.VariantFrequency(
        dataset_id="ds",
        counts=counts(37, 1204, 3, 31),
        populations=[
            allele_pb2.PopulationFrequency(population="NO", counts=counts(33, 1000, 3, 27)),
            allele_pb2.PopulationFrequency(population="NO_M", counts=counts(4, 500, 0, 4)),
            allele_pb2.PopulationFrequency(population="SE", counts=counts(4, 198, 0, 4)),
            allele_pb2.PopulationFrequency(population="FI", counts=counts(0, 6, 0, 0)),
        ],
    )


def rows(f: allele_pb2.VariantFrequency) -> dict[str, tuple]:
    out = {"": f.counts}
    out.update({p.population: p.counts for p in f.populations})
    return {
        k: (c.allele_count, c.allele_number, c.homozygous_count, c.heterozygous_count,
            c.precision)
        for k, c in out.items()
    }  # fmt: skip


def test_record_granularity_without_privacy_is_untouched():
    f = frequency()
    release(f, Granularity.RECORD, PrivacyPolicy())
    assert f == frequency()


def test_min_allele_count_suppresses_small_rows():
    f = frequency()
    release(f, Granularity.RECORD, PrivacyPolicy(min_allele_count=5))
    s = allele_pb2.COUNT_PRECISION_SUPPRESSED
    e = allele_pb2.COUNT_PRECISION_EXACT
    assert rows(f) == {
        "": (37, 1204, 3, 31, e),  # hom 3 meets the individual floor (ceil(5 / 2) = 3)
        # SE alone would be 37 - 33 - FI: the smallest other country, FI, goes too; then
        # SE + FI = 37 - 33 = 4 would still bound SE under 5: NO goes as well
        "NO": (0, 0, 0, 0, s),
        "NO_M": (0, 0, 0, 0, s),  # AC 4 < 5
        "SE": (0, 0, 0, 0, s),  # AC 4 < 5
        "FI": (0, 0, 0, 0, s),  # AC 0 meets the floor: withheld as a complement
    }
    assert not f.populations[1].counts.HasField("allele_count")
    assert not f.populations[1].counts.HasField("allele_frequency")


def test_rounding_to_ten():
    f = frequency()
    release(f, Granularity.RECORD, PrivacyPolicy(round_counts_to=10))
    r = allele_pb2.COUNT_PRECISION_ROUNDED
    assert rows(f) == {
        "": (40, 1200, 0, 30, r),
        "NO": (30, 1000, 0, 30, r),
        "NO_M": (0, 500, 0, 0, r),
        "SE": (0, 200, 0, 0, r),
        "FI": (0, 10, 0, 0, r),
    }
    assert f.counts.allele_frequency == pytest.approx(40 / 1200)


def test_suppression_then_rounding_to_hundred():
    f = frequency()
    release(f, Granularity.RECORD, PrivacyPolicy(min_allele_count=10, round_counts_to=100))
    assert rows(f)[""] == (0, 1200, 0, 0, allele_pb2.COUNT_PRECISION_ROUNDED)
    assert rows(f)["NO"][-1] == allele_pb2.COUNT_PRECISION_SUPPRESSED  # as above
    assert rows(f)["SE"][-1] == allele_pb2.COUNT_PRECISION_SUPPRESSED


def test_min_population_size_merges_small_populations_out():
    f = frequency()
    release(f, Granularity.RECORD, PrivacyPolicy(min_population_size=100))
    # AN/2 samples: NO 500, NO_M 250, SE 99, FI 3
    assert [p.population for p in f.populations] == ["NO", "NO_M"]
    assert f.counts.allele_count == 37  # their samples stay in the dataset row


def test_count_and_boolean_granularity():
    f = frequency()
    release(f, Granularity.COUNT, PrivacyPolicy())
    assert list(f.populations) == []
    assert f.counts.allele_count == 37
    g = frequency()
    release(g, Granularity.BOOLEAN, PrivacyPolicy())
    assert list(g.populations) == []
    assert g.counts.allele_count == 0
    assert g.counts.allele_number == 0
    assert g.counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED


def test_granularity_for_patterns():
    policy = DatasetPolicy(rules=(
        AccessRule("spiffe://allelemesh.example/country/*/gateway/*", Granularity.COUNT),
        AccessRule("spiffe://allelemesh.example/country/FI/node/*", Granularity.BOOLEAN),
        AccessRule("spiffe://allelemesh.example/country/*/*/eu-gw-1", Granularity.RECORD),
    ))  # fmt: skip
    assert policy.granularity_for(GATEWAY) is Granularity.RECORD  # the widest match wins
    assert policy.granularity_for(NODE_FI) is Granularity.BOOLEAN
    assert policy.granularity_for(OPERATOR) is None
    assert policy.granularity_for(None) is None
    assert DatasetPolicy().granularity_for(None) is Granularity.RECORD
    assert DatasetPolicy(rules=(AccessRule("*"),)).granularity_for(None) is Granularity.RECORD
