"""Several files making one dataset: per chromosome, ``.tbi`` or ``.csi``, VCF or BCF, in parallel.

The files of one dataset (as gnomAD and 1000 Genomes ship them, one per chromosome)
must index to the very bytes of one file holding them all, whatever mix of BGZF text
with ``.tbi``, BGZF text with ``.csi`` and BCF with ``.csi`` they come in, read by
worker processes (``--jobs``). The same variant in two files is refused naming both.
"""

from __future__ import annotations

import random
from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from tests.nodes.helpers import counts_by_label, lookup, read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, expected_site_counts, write_sites_vcf

POPULATIONS = ["AFR", "NFE", "NFE_F", "M"]


def _records() -> list[SiteRecord]:
    rng = random.Random(4)
    out = []
    for chrom, start in (("1", 1_000_000), ("2", 5_000_000), ("17", 7_000_000)):
        for i in range(60):
            ref = rng.choice("ACGT")
            alts = rng.sample([b for b in "ACGT" if b != ref], rng.randint(1, 2))
            groups = {}
            for label in ("", *POPULATIONS):
                an = 2 * rng.randint(500, 900) if not label else 2 * rng.randint(50, 90)
                ac = [rng.randint(0, an // 6) for _ in alts]
                groups[label] = GroupCounts(an=an, ac=ac, hom=[rng.randint(0, a // 3) for a in ac])
            total = groups.pop("")
            out.append(SiteRecord(chrom, start + 997 * i, ref, alts, total, groups))
    return out


def _part(tmp_path: Path, chrom: str, kind: str) -> Path:
    records = [r for r in _records() if r.chrom == chrom]
    if kind == "bcf":  # BCF with a .csi
        return write_sites_vcf(tmp_path / f"chr{chrom}.bcf", records, POPULATIONS, bcf=True)
    text = write_sites_vcf(tmp_path / f"chr{chrom}.vcf", records, POPULATIONS)
    return Path(pysam.tabix_index(str(text), preset="vcf", force=True, csi=kind == "csi"))


def _build(inputs: list[Path], out: Path, jobs: int = 1) -> Path:
    build_index(BuildOptions(inputs=inputs, dataset_id="d", out=out, jobs=jobs, progress=False))
    return out


def test_per_chromosome_tbi_csi_and_bcf_files_in_parallel_equal_one_file(tmp_path):
    one = _build(
        [write_sites_vcf(tmp_path / "all.vcf", _records(), POPULATIONS, bgzip=True)],
        tmp_path / "one",
    )
    parts = [_part(tmp_path, "1", "bcf"), _part(tmp_path, "2", "tbi"), _part(tmp_path, "17", "csi")]
    assert {p.name for p in parts} == {"chr1.bcf", "chr2.vcf.gz", "chr17.vcf.gz"}
    assert Path(f"{parts[0]}.csi").exists()
    assert Path(f"{parts[2]}.csi").exists()
    assert Path(f"{parts[1]}.tbi").exists()
    split = _build(parts, tmp_path / "split", jobs=2)
    assert read_raw(split) == read_raw(one)
    for rec in _records():
        for alt, want in zip(rec.alts, expected_site_counts(rec), strict=True):
            assert counts_by_label(lookup(split, rec.chrom, rec.pos, rec.ref, alt)) == want


def test_the_same_variant_in_two_files_is_refused_naming_both(tmp_path):
    records = [r for r in _records() if r.chrom == "1"][:3]
    first = write_sites_vcf(tmp_path / "batch1.vcf", records, POPULATIONS)
    changed = [
        SiteRecord(
            r.chrom,
            r.pos,
            r.ref,
            r.alts,
            GroupCounts(r.total.an, [a + 1 for a in r.total.ac], r.total.hom),
            r.populations,
        )
        for r in records[1:2]
    ]
    second = write_sites_vcf(tmp_path / "batch2.vcf", changed, POPULATIONS)  # no index
    rec = records[1]
    with pytest.raises(IndexBuildError) as caught:
        _build([first, second], tmp_path / "index", jobs=2)
    message = caught.value.message
    assert f"{first} chr1:{rec.pos}" in message
    assert f"{second} chr1:{rec.pos}" in message
    assert f"both normalize to 1-{rec.pos}-{rec.ref}-{rec.alts[0]}" in message
