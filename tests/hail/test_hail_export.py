"""``allelemesh hail export`` then ``index build`` = ``index build --samples``, to the byte.

A genotype VCF written here (two populations, males, females and a sample of unknown
sex; X inside and outside the PARs, Y; multi-allelic sites; missing calls) goes through
the real Hail pipeline in local mode (a real ``allelemesh`` process with a JVM), and
the per-chromosome sites VCFs it writes are built into an index. Its stored values are
compared with those of the genotype path on the same genotypes, with counts computed
here one sample at a time, and with ``bcftools +fill-tags`` on the autosomes.

Runs where the ``hail`` extra is installed (``make test-hail`` makes that venv and runs
these with ``ALLELEMESH_REQUIRE_HAIL=1``, as CI does); elsewhere it skips with one line.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from mesh.model.genome import Assembly
from nodes.build.builder import BuildOptions, build_index
from tests.nodes.helpers import counts_by_label, lookup, read_raw
from tests.vcf_factory import (
    GenotypeRecord,
    SampleSpec,
    expected_genotype_counts,
    write_genotype_vcf,
    write_samples_tsv,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SAMPLES = [
    SampleSpec("m1", "NO", "M"), SampleSpec("m2", "NO", "M"), SampleSpec("f1", "NO", "F"),
    SampleSpec("f2", "NO", "F"), SampleSpec("m3", "FI", "M"), SampleSpec("f3", "FI", "F"),
    SampleSpec("u1", "FI", ""),
]  # fmt: skip
RECORDS = [
    # autosomes: hom, het, missing, phased
    GenotypeRecord("1", 1_000, "A", ["G"], ["1/1", "0/1", "./.", "0/0", "0|1", "0/0", "1|1"]),
    GenotypeRecord("1", 2_000, "C", ["T", "CA"], ["1/2", "2/2", "0/1", "./.", "1/1", "0/2", "0/0"]),
    GenotypeRecord("2", 500, "G", ["A", "T", "C"],
                   ["0/3", "1/2", "3/3", "0/0", "./.", "2/2", "0/1"]),
    GenotypeRecord("2", 900, "T", ["C"], ["0/0"] * 7),
    # X in PAR1 (diploid males) and outside (haploid males; a het male is missing)
    GenotypeRecord("X", 20_000, "G", ["A"], ["0/1", "1/1", "0/1", "0/0", "1/1", "1/1", "0/1"]),
    GenotypeRecord("X", 5_000_000, "T", ["C"], ["1/1", "0/1", "0/1", "1/1", "1", "0/1", "1/1"]),
    GenotypeRecord("X", 6_000_000, "A", ["G", "T"],
                   ["2", "1/1", "1/2", "0/0", "0/0", "2/2", "0/2"]),
    # Y outside the PARs: females are ignored, males haploid
    GenotypeRecord("Y", 3_000_000, "C", ["G"], ["1", "0", "0/0", "1/1", "1/1", "./.", "1"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def hail_available() -> None:
    if importlib.util.find_spec("hail") is None:
        message = "needs the hail extra (pip install 'allelemesh[hail]'; make test-hail)"
        if os.environ.get("ALLELEMESH_REQUIRE_HAIL") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("Hail needs Java: apt-get install default-jre-headless", pytrace=False)


def allelemesh(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", *args], cwd=REPO, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, hail_available: None):
    work = tmp_path_factory.mktemp("hail")
    vcf = write_genotype_vcf(work / "genotypes.vcf.gz", SAMPLES, RECORDS, bgzip=True)
    samples = write_samples_tsv(work / "samples.tsv", SAMPLES)
    out = work / "sites"
    result = allelemesh("hail", "export", "--input", str(vcf), "--samples", str(samples),
                        "--out", str(out), "--cores", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    # The paths written, one a line (the JVM may log to the same stdout).
    written = [Path(line) for line in result.stdout.splitlines() if line.endswith(".vcf.bgz")]
    return work, vcf, samples, written


def test_one_indexed_sites_vcf_per_chromosome(exported) -> None:
    _, _, _, written = exported
    assert [p.name for p in written] == ["1.vcf.bgz", "2.vcf.bgz", "X.vcf.bgz", "Y.vcf.bgz"]
    for path in written:
        assert Path(f"{path}.tbi").exists()
        with pysam.VariantFile(str(path)) as sites:
            header = {r.key: r.value for r in sites.header.records if r.value}
            assert header["allelemesh_groups"] == "FI,FI_F,FI_M,NO,NO_F,NO_M"
            # GRCh38 contigs as Hail's reference names them; the builder takes either.
            assert {r.chrom for r in sites} == {f"chr{path.name.split('.')[0]}"}


def test_build_from_the_export_equals_the_genotype_build(exported, tmp_path: Path) -> None:
    _, vcf, samples, written = exported
    from_hail = tmp_path / "from-hail"
    from_genotypes = tmp_path / "from-genotypes"
    build_index(BuildOptions(inputs=written, dataset_id="d", out=from_hail,
                             assembly=Assembly.GRCH38, progress=False, jobs=2))  # fmt: skip
    build_index(BuildOptions(inputs=[vcf], dataset_id="d", out=from_genotypes,
                             assembly=Assembly.GRCH38, progress=False,
                             samples=samples))  # fmt: skip
    hail_values, genotype_values = read_raw(from_hail), read_raw(from_genotypes)
    assert len(hail_values) == sum(len(r.alts) for r in RECORDS)
    assert hail_values == genotype_values  # every key, every stored byte
    # And both are what the genotypes say, counted here one sample at a time.
    for record in RECORDS:
        expected_counts = expected_genotype_counts(record, SAMPLES)
        for allele, expected in zip(record.alts, expected_counts, strict=True):
            stored = counts_by_label(
                lookup(from_hail, record.chrom, record.pos, record.ref, allele)
            )
            assert stored == expected, (record.chrom, record.pos, allele)


def fill_tags(vcf: Path, samples: list[str], out: Path) -> Path:
    """``bcftools +fill-tags`` over a subset of the samples (one population, or all)."""
    subset = subprocess.run(
        ["bcftools", "view", "-s", ",".join(samples), "-Ou", str(vcf)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        ["bcftools", "+fill-tags", "-Ov", "-o", str(out), "-", "--", "-t", "AC,AN,AC_Hom,AC_Het"],
        input=subset.stdout, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return out


def test_autosomes_match_bcftools_fill_tags(exported, tmp_path: Path) -> None:
    if shutil.which("bcftools") is None:
        pytest.skip("needs bcftools (apt-get install bcftools)")
    _, vcf, _, written = exported
    ours = {}
    for path in written[:2]:  # chromosomes 1 and 2
        with pysam.VariantFile(str(path)) as sites:
            for rec in sites:
                ours[(rec.pos, rec.alts)] = rec.info
    compared = 0
    for label in ("", "NO", "FI"):
        members = [s.name for s in SAMPLES if not label or s.population == label]
        suffix = f"_{label}" if label else ""
        filled = fill_tags(vcf, members, tmp_path / f"filled{suffix}.vcf")
        with pysam.VariantFile(str(filled)) as theirs:
            for rec in theirs:
                if rec.chrom not in ("1", "2"):
                    continue
                info = ours[(rec.pos, rec.alts)]
                assert tuple(info[f"AC{suffix}"]) == tuple(rec.info["AC"])
                assert info[f"AN{suffix}"] == rec.info["AN"]
                # bcftools counts alleles in homozygous genotypes: two per call.
                hom = tuple(2 * n for n in info[f"nhomalt{suffix}"])
                assert hom == tuple(rec.info["AC_Hom"])
                assert tuple(info[f"nhet{suffix}"]) == tuple(rec.info["AC_Het"])
                compared += 1
    assert compared == 4 * 3


def test_missing_extra_or_bad_input_is_a_clear_error(tmp_path: Path, hail_available) -> None:
    samples = write_samples_tsv(tmp_path / "samples.tsv", SAMPLES)
    result = allelemesh("hail", "export", "--input", str(tmp_path / "none.vcf.gz"),
                        "--samples", str(samples), "--out", str(tmp_path / "out"),
                        "--populations", "NO,SE")  # fmt: skip
    assert result.returncode == 2
    assert "--populations: SE not in" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_the_extra_the_command_says_how_to_get_it(tmp_path: Path) -> None:
    if importlib.util.find_spec("hail") is not None:
        pytest.skip("hail is installed here: this checks a venv without the extra")
    samples = write_samples_tsv(tmp_path / "samples.tsv", SAMPLES)
    result = allelemesh("hail", "export", "--input", str(tmp_path / "x.vcf.gz"),
                        "--samples", str(samples), "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.returncode == 2
    assert "allelemesh hail needs the hail extra: pip install 'allelemesh[hail]'" in result.stderr
