"""The builder keeps the VCF ID column's rsIDs: every reader path, the same table.

The table (``ids.mdb``) is read back with LMDB directly and compared with what the ID
columns the test wrote say: several ids per record, several records per id, ids of
multi-allelic records on every ALT, non-rsID ids and ``.`` left out, case folded.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import lmdb
import pytest

from mesh.model.genome import Assembly
from nodes.build.builder import BuildOptions, _build
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

CODES = {"1": 1, "2": 2}


def _records(rng: random.Random) -> list[SiteRecord]:
    ids = ["rs1", "rs2;rs3", ".", "RS4", "esv9;rs5", "rs1", "rs6;rs6x", "rs2"]
    records = []
    for i in range(400):
        chrom = "1" if i < 250 else "2"
        alts = ["G", "T"] if i % 7 == 0 else ["G"]
        counts = GroupCounts(1000, [5] * len(alts), [1] * len(alts))
        rsid = ids[i % len(ids)] if i % 3 else f"rs{10_000 + i}"
        records.append(SiteRecord(chrom, 1000 + 10 * i, "A", alts, counts, id=rsid))
    return records


def _expected(records: list[SiteRecord]) -> dict[bytes, set[bytes]]:
    table: dict[bytes, set[bytes]] = {}
    for rec in records:
        for token in rec.id.split(";"):
            if token.lower().startswith("rs") and token[2:].isdigit():
                for alt in rec.alts:
                    prefix = bytes([CODES[rec.chrom]]) + rec.pos.to_bytes(4, "big")
                    key = prefix + f"A>{alt}".encode()
                    table.setdefault(token.lower().encode(), set()).add(key)
    return table


def _table(index: Path) -> dict[bytes, set[bytes]]:
    version = Path(os.path.realpath(index))
    env = lmdb.open(str(version / "ids.mdb"), readonly=True, lock=False, subdir=False, max_dbs=1)
    try:
        db = env.open_db(b"rsids", dupsort=True, create=False)
        with env.begin(db=db) as txn:
            table: dict[bytes, set[bytes]] = {}
            for rsid, key in txn.cursor().iternext():
                table.setdefault(rsid, set()).add(key)
            return table
    finally:
        env.close()


@pytest.mark.parametrize(("fast_text", "jobs"), [(True, 1), (False, 1), (True, 2)])
def test_rsids_are_kept_by_every_reader(tmp_path: Path, fast_text: bool, jobs: int) -> None:
    records = _records(random.Random(5))
    vcf = write_sites_vcf(tmp_path / "in.vcf", records, bgzip=True)
    out = tmp_path / "idx"
    options = BuildOptions(
        inputs=[vcf], dataset_id="ds", out=out, assembly=Assembly.GRCH38, jobs=jobs,
        progress=False,
    )  # fmt: skip
    _build(options, fast_text=fast_text)
    expected = _expected(records)
    assert b"rs6x" not in expected
    assert b"esv9" not in expected
    assert len(expected[b"rs1"]) > 1  # several records
    assert len(expected[b"rs10000"]) == 2  # one record's two ALTs
    assert _table(out) == expected
    metadata = json.loads((out / "dataset.json").read_text())
    assert metadata["variant_ids"] is True
    assert metadata["variant_id_count"] == len(expected)
    # The version directory's modes cover the new file too (group-readable, no others).
    assert (Path(os.path.realpath(out)) / "ids.mdb").stat().st_mode & 0o777 == 0o640
    assert not (Path(os.path.realpath(out)) / "ids.mdb-lock").exists()
