"""Index directories are 0750 and their files 0640 whatever the builder's umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import versions_dir
from tests.nodes.helpers import counts_by_label, lookup
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf


@pytest.fixture(params=[0o000, 0o022, 0o077], ids=["umask-000", "umask-022", "umask-077"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    """Permission bits of every directory and file under ``root`` (symlinks skipped)."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for entry in root.rglob("*"):
        if not entry.is_symlink():
            found[str(entry.relative_to(root))] = stat.S_IMODE(entry.stat().st_mode)
    return found


@pytest.mark.parametrize("unsorted", [False, True], ids=["sorted", "unsorted-compacted"])
def test_index_modes_do_not_follow_the_umask(tmp_path, umask, unsorted):
    records = [
        SiteRecord("1", pos, "A", ["C"], GroupCounts(100, [pos % 7 + 1], [0]))
        for pos in (100, 200, 300)
    ]
    inputs = [write_sites_vcf(tmp_path / "a.vcf", records, style="basic")]
    if unsorted:  # a second file going backwards: the build compacts through a copy
        early = [SiteRecord("1", 50, "G", ["T"], GroupCounts(100, [3], [0]))]
        inputs.append(write_sites_vcf(tmp_path / "b.vcf", early, style="basic"))
    out = tmp_path / "index"
    for _ in range(2):  # a rebuild too: the versions directory exists already
        report = build_index(BuildOptions(inputs=inputs, dataset_id="ds", out=out))
    versions = versions_dir(out)
    assert stat.S_IMODE(versions.stat().st_mode) == 0o750
    modes = _modes(report.version_path)
    want = {".": 0o750, "data.mdb": 0o640, "dataset.json": 0o640, "ids.mdb": 0o640}
    assert modes == want, oct(umask)
    for version in versions.iterdir():
        assert set(_modes(version).values()) <= {0o750, 0o640}
    # Still an index the owner can serve.
    assert counts_by_label(lookup(out, "1", 100, "A", "C"))[""][0] == 3
