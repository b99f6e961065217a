"""``index build`` shows a live progress bar on a terminal and plain lines otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.terminal import run_on_a_terminal
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

ROOT = Path(__file__).resolve().parents[3]


def sites(tmp_path: Path) -> Path:
    records = [
        SiteRecord("1", 1000 + 10 * i, "A", ["G"], GroupCounts(an=100, ac=[i % 7], hom=[0]))
        for i in range(2000)
    ]
    return write_sites_vcf(tmp_path / "sites.vcf", records, bgzip=True)


def build_command(vcf: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "mesh", "index", "build", str(vcf), "--dataset", "ds",
            "--out", str(out)]  # fmt: skip


def test_terminal_gets_a_progress_bar_with_records_per_second(tmp_path):
    vcf = sites(tmp_path)
    text = run_on_a_terminal(build_command(vcf, tmp_path / "idx"), cwd=ROOT)
    assert "records/s" in text
    assert "\x1b[" in text  # drawn with terminal control sequences


def test_pipe_gets_plain_lines(tmp_path):
    vcf = sites(tmp_path)
    result = subprocess.run(
        build_command(vcf, tmp_path / "idx"), cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    combined = result.stdout + result.stderr
    assert "\x1b[" not in combined
    assert "alleles/s" in combined
