"""Genotype VCFs with a samples file: counts from GT, per population and sex."""

from __future__ import annotations

import random

import pytest

from nodes.build.builder import BuildOptions, build_index
from nodes.build.genotype_counts import PAR_REGIONS, is_haploid_for_males, read_samples
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup, read_raw
from tests.vcf_factory import (
    GenotypeRecord,
    SampleSpec,
    expected_genotype_counts,
    write_genotype_vcf,
    write_samples_tsv,
)

SAMPLES = [
    SampleSpec("m1", "NO", "M"),
    SampleSpec("m2", "NO", "M"),
    SampleSpec("f1", "NO", "F"),
    SampleSpec("f2", "NO", "F"),
    SampleSpec("m3", "FI", "M"),
    SampleSpec("f3", "FI", "F"),
    SampleSpec("u1", "FI", ""),
]


def records() -> list[GenotypeRecord]:
    return [
        # autosome: hom, het, missing, half-missing, phased
        GenotypeRecord("1", 1_000, "A", ["G"], ["1/1", "0/1", "./.", "./1", "0|1", "0/0", "1|1"]),
        # multi-allelic with a 1/2 call
        GenotypeRecord(
            "1", 2_000, "C", ["T", "CA"], ["1/2", "2/2", "0/1", ".", "1/1", "0/2", "0/0"]
        ),
        # X in PAR1 (diploid males), non-PAR (haploid males, a het male = missing, haploid calls)
        GenotypeRecord(
            "X", 2_000_000, "G", ["A"], ["1/1", "0/1", "0/1", "1/1", "0/0", "./.", "1/1"]
        ),
        GenotypeRecord(
            "X", 50_000_000, "G", ["A"], ["1/1", "0/1", "0/1", "1/1", "1", "./.", "./1"]
        ),
        GenotypeRecord("X", 155_800_000, "T", ["C"], ["1", "0", "1/1", "0/1", "1/1", "0/0", "0/1"]),
        # Y outside PAR: females ignored, male diploid calls read as haploid
        GenotypeRecord("Y", 10_000_000, "C", ["T"], ["1/1", "1", "0/1", "1/1", "0", "1/1", "1"]),
    ]


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("extra_format", [True, False])
def test_genotype_counts_match_independent_count(tmp_path, header, extra_format):
    recs = records()
    vcf = write_genotype_vcf(
        tmp_path / "g.vcf", SAMPLES, recs, bgzip=True, extra_format=extra_format
    )
    tsv = write_samples_tsv(tmp_path / "samples.tsv", SAMPLES, header=header)
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out, samples=tsv))
    for rec in recs:
        expected = expected_genotype_counts(rec, SAMPLES)
        for a, alt in enumerate(rec.alts):
            ref, alt_n = (rec.ref, alt) if alt != "CA" else ("C", "CA")
            got = counts_by_label(lookup(out, rec.chrom, rec.pos, ref, alt_n))
            assert got == expected[a], (rec, alt)
    meta = read_metadata(out)
    assert meta.info_convention == "genotypes"
    assert meta.sample_count == len(SAMPLES)
    assert meta.populations == ["FI", "FI_F", "FI_M", "NO", "NO_F", "NO_M"]


def test_known_values_by_hand(tmp_path):
    vcf = write_genotype_vcf(tmp_path / "g.vcf", SAMPLES, records())
    tsv = write_samples_tsv(tmp_path / "s.tsv", SAMPLES)
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out, samples=tsv))
    # X non-PAR: m1 1/1→hemi, m2 0/1→missing, f1 0/1 het, f2 1/1 hom, m3 "1" hemi, f3 missing,
    # u1 ./1 half-missing (AN 1, AC 1).
    assert counts_by_label(lookup(out, "X", 50_000_000, "G", "A"))[""] == (6, 7, 1, 1, 2)
    # Y: only males m1 (1/1→1), m2 (1), m3 (0) and unknown u1 (1) count.
    assert counts_by_label(lookup(out, "Y", 10_000_000, "C", "T"))[""] == (3, 4, 0, 0, 3)


def test_samples_not_in_file_are_ignored_and_no_genotypes_stored(tmp_path):
    recs = records()[:1]
    vcf = write_genotype_vcf(tmp_path / "g.vcf", SAMPLES, recs)
    tsv = write_samples_tsv(tmp_path / "s.tsv", SAMPLES[:3])
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out, samples=tsv))
    got = counts_by_label(lookup(out, "1", 1_000, "A", "G"))
    assert (
        got
        == expected_genotype_counts(
            GenotypeRecord("1", 1_000, "A", ["G"], recs[0].gts[:3]), SAMPLES[:3]
        )[0]
    )
    for value in read_raw(out).values():
        assert b"m1" not in value
        assert b"0/1" not in value
    assert read_metadata(out).sample_count == 3


def test_random_genotypes(tmp_path):
    rng = random.Random(7)
    samples = [
        SampleSpec(f"s{i}", rng.choice(["NO", "SE"]), rng.choice(["M", "F", ""])) for i in range(60)
    ]
    choices = ["0/0", "0/1", "1/1", "./.", "0|1", "1|0", "./1", "1", "0", "1/2", "2/2", "."]
    recs, pos = [], 10_000
    for _ in range(40):
        pos += rng.randint(1, 1000)
        chrom = rng.choice(["1", "X", "Y"])
        recs.append(
            GenotypeRecord(chrom, pos, "A", ["C", "G"], [rng.choice(choices) for _ in samples])
        )
    recs.sort(key=lambda r: (["1", "X", "Y"].index(r.chrom), r.pos))
    vcf = write_genotype_vcf(tmp_path / "g.vcf", samples, recs, bcf=True)
    tsv = write_samples_tsv(tmp_path / "s.tsv", samples)
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out, samples=tsv))
    for rec in recs:
        for a, alt in enumerate(rec.alts):
            got = counts_by_label(lookup(out, rec.chrom, rec.pos, "A", alt))
            assert got == expected_genotype_counts(rec, samples)[a]


def test_par_boundaries_exact():
    for assembly, table in PAR_REGIONS.items():
        for chrom, regions in table.items():
            for start, end in regions:
                assert not is_haploid_for_males(chrom, start, assembly)
                assert not is_haploid_for_males(chrom, end, assembly)
                assert is_haploid_for_males(chrom, start - 1, assembly)
                assert is_haploid_for_males(chrom, end + 1, assembly)
    assert PAR_REGIONS["GRCh38"]["X"] == ((10001, 2781479), (155701383, 156030895))
    assert PAR_REGIONS["GRCh37"]["X"] == ((60001, 2699520), (154931044, 155260560))
    assert not is_haploid_for_males("7", 5, "GRCh38")


def test_read_samples_sexes(tmp_path):
    tsv = tmp_path / "s.tsv"
    tsv.write_text("# comment\na\tNO\tmale\nb\tNO\t2\nc\tSE\tX\nd\tSE\n")
    assert [(s.name, s.sex) for s in read_samples(tsv)] == [
        ("a", "M"),
        ("b", "F"),
        ("c", ""),
        ("d", ""),
    ]
