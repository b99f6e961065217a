"""``allelemesh index prune DIR --keep N``: old versions go, the served one never does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mesh_harness import REPO
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

pytestmark = pytest.mark.slow


def allelemesh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def build(tmp_path: Path, out: Path, ac: int) -> None:
    site = SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[ac], hom=[0]))
    vcf = write_sites_vcf(tmp_path / f"in-{ac}.vcf", [site], bgzip=True)
    result = allelemesh("index", "build", str(vcf), "--dataset", "de-a", "--out", str(out))
    assert result.returncode == 0, result.stderr


def versions(out: Path) -> list[str]:
    return sorted(p.name for p in (out.parent / f".{out.name}.versions").iterdir())


def served(out: Path) -> str:
    return Path(os.readlink(out)).name


def test_prune_keeps_the_newest_and_the_served(tmp_path: Path) -> None:
    out = tmp_path / "de-a"
    build(tmp_path, out, 1)
    build(tmp_path, out, 2)
    old, new = versions(out)
    assert served(out) == new
    result = allelemesh("index", "prune", str(out), "--keep", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"kept 1: {new} (served)", f"removed 1: {old}"]
    assert versions(out) == [new]


def test_prune_never_removes_a_rolled_back_version(tmp_path: Path) -> None:
    out = tmp_path / "de-a"
    build(tmp_path, out, 1)
    build(tmp_path, out, 2)
    old, new = versions(out)
    # The operator rolled back to the older build: that is what nodes serve now.
    link = tmp_path / "tmp-link"
    link.symlink_to(Path(os.readlink(out)).parent / old)
    os.replace(link, out)
    result = allelemesh("index", "prune", str(out), "--keep", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"kept 1: {old} (served)", f"removed 1: {new}"]
    assert versions(out) == [old]
    info = allelemesh("index", "info", str(out), "--json")
    assert info.returncode == 0, info.stderr


def test_keep_zero_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "de-a"
    build(tmp_path, out, 1)
    result = allelemesh("index", "prune", str(out), "--keep", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --keep must be at least 1: the version being served is kept"
    )
    assert len(versions(out)) == 1
