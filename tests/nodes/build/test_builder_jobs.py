"""--jobs N gives the same keys and values as one process."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import lmdb
import pytest

from mesh.errors import IndexBuildError
from nodes.build import _text_reader
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


def _read_ids(path: Path) -> list[tuple[bytes, bytes]]:
    """Every (rsID, key) pair of an index's rsID table, in order."""
    env = lmdb.open(str(path / "ids.mdb"), readonly=True, lock=False, subdir=False, max_dbs=4)
    try:
        with env.begin() as txn:
            names = [name for name, _ in txn.cursor()]
            pairs = []
            for name in names:
                db = env.open_db(name, txn=txn, create=False, dupsort=True)
                pairs.extend((name + b"/" + k, v) for k, v in txn.cursor(db))
            return pairs
    finally:
        env.close()


def _with_ids_and_duplicates(records: list[SiteRecord], seed: int) -> list[SiteRecord]:
    """``records`` with rsIDs on most, and every 9th record repeated (a duplicate)."""
    rng = random.Random(seed)
    out: list[SiteRecord] = []
    for i, rec in enumerate(records):
        if rng.random() < 0.7:
            rec.id = ";".join(f"rs{rng.randint(1, 10**6)}" for _ in range(rng.randint(1, 2)))
        out.append(rec)
        if i % 9 == 4:  # the same alleles again, other counts: the first read must win
            total = GroupCounts(rec.total.an + 1, rec.total.ac, rec.total.hom)
            out.append(replace(rec, id=f"rs{i}", total=total))
    return out


@pytest.mark.parametrize("batch_size", [5, 20_000])
def test_jobs_two_same_rsids_and_duplicates_across_many_tasks(tmp_path, monkeypatch, batch_size):
    """Workers' results (many small tasks) stored as one process stores them: values,
    rsIDs, which duplicate wins, counts, and the refusal naming both records."""
    monkeypatch.setattr(_text_reader, "_RANGE_BYTES", 3000)  # dozens of tasks per file
    records = _with_ids_and_duplicates(_records("1", 4, 1500) + _records("2", 5, 500), 6)
    vcf = write_gnomad_sites_vcf(tmp_path / "d.vcf", records, ["NFE"])
    reports = [
        build_index(
            BuildOptions([vcf], "ds", tmp_path / f"j{jobs}", jobs=jobs, on_error="skip",
                         batch_size=batch_size, progress=False)
        )
        for jobs in (1, 2)
    ]  # fmt: skip
    raw1, raw2 = read_raw(tmp_path / "j1"), read_raw(tmp_path / "j2")
    assert list(raw1.items()) == list(raw2.items())
    ids1, ids2 = _read_ids(tmp_path / "j1"), _read_ids(tmp_path / "j2")
    assert ids1 == ids2
    assert len(ids1) > 1000
    one, two = reports
    assert (one.records, one.alleles, one.skipped) == (two.records, two.alleles, two.skipped)
    assert one.skipped.get("duplicate", 0) > 100
    errors = []
    for jobs in (1, 2):
        with pytest.raises(IndexBuildError) as caught:
            build_index(
                BuildOptions([vcf], "ds", tmp_path / f"f{jobs}", jobs=jobs,
                             batch_size=batch_size, progress=False)
            )  # fmt: skip
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    assert "both normalize to" in errors[0]
