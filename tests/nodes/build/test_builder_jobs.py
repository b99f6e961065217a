"""--jobs N gives the same keys and values as one process."""

from __future__ import annotations

import random

from nodes.build.builder import BuildOptions, build_index
from tests.nodes.helpers import read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, write_gnomad_sites_vcf


def _records(chrom: str, seed: int, n: int) -> list[SiteRecord]:
    rng = random.Random(seed)
    pos, recs = 10_000, []
    for _ in range(n):
        pos += rng.randint(1, 3000)
        alts = rng.sample(["C", "G", "T", "AT"], rng.randint(1, 3))
        ac = [rng.randint(0, 20) for _ in alts]
        recs.append(
            SiteRecord(
                chrom,
                pos,
                "A",
                alts,
                GroupCounts(1000, ac, [a // 3 for a in ac]),
                {"NFE": GroupCounts(400, [a // 2 for a in ac], [0] * len(ac))},
            )
        )
    return recs


def test_jobs_two_is_byte_identical(tmp_path):
    a = write_gnomad_sites_vcf(tmp_path / "a.vcf", _records("1", 1, 800), ["NFE"])
    b = write_gnomad_sites_vcf(
        tmp_path / "b.vcf", _records("2", 2, 800) + _records("X", 3, 300), ["NFE"]
    )
    one = build_index(BuildOptions([a, b], "ds", tmp_path / "one", jobs=1))
    two = build_index(BuildOptions([a, b], "ds", tmp_path / "two", jobs=2))
    raw1, raw2 = read_raw(tmp_path / "one"), read_raw(tmp_path / "two")
    assert raw1 == raw2
    assert list(raw1) == list(raw2)
    assert len(raw1) > 2000
    assert (one.records, one.alleles) == (two.records, two.alleles)
    assert one.metadata.populations == two.metadata.populations


def test_jobs_with_unindexed_input_falls_back(tmp_path):
    a = write_gnomad_sites_vcf(tmp_path / "a.vcf", _records("1", 1, 50), ["NFE"], bgzip=False)
    one = build_index(BuildOptions([a], "ds", tmp_path / "one", jobs=2))
    assert one.variant_count == len(read_raw(tmp_path / "one"))
