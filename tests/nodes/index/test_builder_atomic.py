"""The index directory: symlink swap, old versions pruned, failures leave the old index."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mesh.errors import IndexBuildError, IndexStoreError
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata, remove_stale_tmp, versions_dir
from tests.nodes.helpers import counts_by_label, lookup, read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf


def _vcf(tmp_path, ac: int, name: str = "v.vcf"):
    rec = SiteRecord("1", 100, "A", ["C"], GroupCounts(100, [ac], [0]))
    return write_sites_vcf(tmp_path / name, [rec], style="basic")


def _build(vcf, out, **kw):
    return build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out, **kw))


def test_layout_and_swap_and_prune(tmp_path):
    out = tmp_path / "index"
    versions = []
    for ac in (1, 2, 3, 4):
        report = _build(_vcf(tmp_path, ac), out, title=f"v{ac}")
        assert out.is_symlink()
        assert not os.path.isabs(os.readlink(out))  # relative: the parent can move
        assert out.resolve() == report.version_path
        assert sorted(p.name for p in report.version_path.iterdir()) == [
            "data.mdb",
            "dataset.json",
            "ids.mdb",
        ]
        assert counts_by_label(lookup(out, "1", 100, "A", "C"))[""][0] == ac
        versions.append(report.version_path)
    left = sorted(p for p in versions_dir(out).iterdir())
    assert left == sorted(versions[-2:])  # current and previous only
    assert read_metadata(out).title == "v4"


def test_failed_build_leaves_previous_index(tmp_path):
    out = tmp_path / "index"
    good = _build(_vcf(tmp_path, 7), out)
    bad = _vcf(tmp_path, 7, "bad.vcf")
    with bad.open("a") as f:
        f.write("chr1\t200\t.\tA\tC\t.\tPASS\tAC=50;AN=10;nhomalt=0\n")
    with pytest.raises(IndexBuildError):
        _build(bad, out)
    assert out.resolve() == good.version_path
    assert counts_by_label(lookup(out, "1", 100, "A", "C"))[""][0] == 7
    assert [p.name for p in versions_dir(out).iterdir()] == [good.version_path.name]


def test_refuses_a_real_directory_or_foreign_symlink(tmp_path):
    out = tmp_path / "index"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(IndexBuildError, match="not an index made by"):
        _build(_vcf(tmp_path, 1), out)
    assert (out / "precious.txt").read_text() == "keep me"
    link = tmp_path / "other"
    link.symlink_to(out)
    with pytest.raises(IndexBuildError, match="refusing to replace"):
        _build(_vcf(tmp_path, 1), link)


def test_stale_tmp_of_dead_builder_removed(tmp_path):
    out = tmp_path / "index"
    versions = versions_dir(out)
    versions.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = versions / f"tmp-{int(dead.stdout)}-abcd"
    stale.mkdir()
    (stale / "data.mdb").write_bytes(b"x" * 100)
    alive = versions / f"tmp-{os.getppid()}-beef"  # a running builder's: left alone
    alive.mkdir()
    _build(_vcf(tmp_path, 1), out)
    assert not stale.exists()
    assert alive.exists()
    alive.rmdir()
    assert remove_stale_tmp(versions) == []


def test_sigkilled_builder_leaves_no_trace_after_next_build(tmp_path):
    recs = [
        SiteRecord("1", 1000 + i, "A", ["C"], GroupCounts(100, [1], [0])) for i in range(200000)
    ]
    vcf = write_sites_vcf(tmp_path / "big.vcf", recs, style="basic")
    out = tmp_path / "index"
    code = (
        "import sys; from pathlib import Path; "
        "from nodes.build.builder import BuildOptions, build_index;"
        f"build_index(BuildOptions(inputs=[Path({str(vcf)!r})], dataset_id='ds',"
        f" out=Path({str(out)!r}), progress=False))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=os.getcwd())
    versions = versions_dir(out)
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (versions.exists() and any(versions.iterdir())):
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    assert not out.exists()
    small = _vcf(tmp_path, 3)
    _build(small, out)
    assert [p.name.startswith("tmp-") for p in versions.iterdir()] == [False]


def test_read_metadata_errors(tmp_path):
    with pytest.raises(IndexStoreError, match=r"cannot read dataset\.json"):
        read_metadata(tmp_path)
    (tmp_path / "dataset.json").write_text('{"schema_version": 99}')
    with pytest.raises(IndexStoreError, match="schema_version"):
        read_metadata(tmp_path)


def test_metadata_content(tmp_path):
    out = tmp_path / "index"
    vcf = _vcf(tmp_path, 5)
    report = _build(vcf, out, title="Norway", description="NorDB", assembly="GRCh38")
    meta = read_metadata(out)
    data = meta.to_json()
    assert set(data) == {
        "schema_version",
        "id",
        "title",
        "description",
        "assembly",
        "sample_count",
        "populations",
        "variant_count",
        "source_files",
        "source_sha256",
        "created_time",
        "info_convention",
        "skipped",
        "build_seconds",
        "metadata_time",
        "source",
        "source_reference",
        "built_tier",
        "convention",
        "skipped_alleles",
        "variant_ids",
        "variant_id_count",
        "disclosure_check",
        "groups",
    }
    assert (meta.id, meta.title, meta.description, str(meta.assembly)) == (
        "ds",
        "Norway",
        "NorDB",
        "GRCh38",
    )
    assert meta.variant_count == len(read_raw(out)) == 1
    assert meta.sample_count == 50
    assert meta.created_time.endswith("Z")
    import hashlib
    from datetime import datetime

    datetime.fromisoformat(meta.created_time.replace("Z", "+00:00"))
    assert meta.source_sha256 == hashlib.sha256(vcf.read_bytes()).hexdigest()
    assert meta.build_seconds >= 0
    assert report.metadata == meta
