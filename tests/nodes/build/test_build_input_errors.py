"""``index build`` on inputs people really have: a plain-gzip VCF, a BCF without an index.

Real files (gzip.compress of a real VCF, a BCF written by the test factory) and the real CLI in
a subprocess, so htslib's own stderr output is seen as an operator sees it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.mesh_harness import REPO
from tests.vcf_factory import GroupCounts, SiteRecord, gzip_plain, write_sites_vcf

pytestmark = pytest.mark.slow


def records() -> list[SiteRecord]:
    return [SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[12], hom=[2]))]


def build(vcf: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", "index", "build", str(vcf), "--dataset", "de-a",
         "--assembly", "GRCh38", "--out", str(out), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]])
def test_plain_gzip_says_gzip_not_bgzip_with_the_command(tmp_path: Path, jobs: list[str]):
    plain = gzip_plain(write_sites_vcf(tmp_path / "de.vcf", records()))
    result = build(plain, tmp_path / "idx", *jobs)
    assert result.returncode == 1
    fixed = tmp_path / "de.bgz.vcf.gz"
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {plain} is compressed with gzip, not bgzip (BGZF), and htslib cannot read it: "
        f"recompress it with `zcat {plain} | bgzip -c > {fixed}` (and `tabix -p vcf {fixed}` "
        f"for --jobs), then build from {fixed}"
    )
    assert "Traceback" not in result.stderr
    assert "NotImplementedError" not in result.stderr
    # The command it gives works.
    subprocess.run(f"zcat {plain} | bgzip -c > {fixed}", shell=True, check=True)
    assert build(fixed, tmp_path / "idx").returncode == 0


def test_bcf_without_index_builds_without_htslib_noise(tmp_path: Path):
    bcf = write_sites_vcf(tmp_path / "de.vcf", records(), bcf=True)
    Path(f"{bcf}.csi").unlink(missing_ok=True)  # as a BCF from elsewhere usually comes
    result = build(bcf, tmp_path / "idx")
    assert result.returncode == 0, result.stderr
    assert "[E::" not in result.stderr
    assert "idx_find_and_load" not in result.stderr
