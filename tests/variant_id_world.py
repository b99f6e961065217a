"""Three countries' datasets with rsIDs in their ID columns, and what an rsID should give.

* NO (``no-ids``): one rsID -> one variant (``rs100``), one -> two ALTs of a record
  (``rs200``), two ids on one record (``rs300;rs301``), one id on two records
  (``rs400``), and a record without an id.
* FI (``fi-ids``): holds ``rs100``'s variant *without* recording the id, and records
  ``rs400`` on one of its two variants and ``rs301``.
* LU (``lu-old``): holds ``rs100``'s variant with the id, but its index is made as one
  built before rsIDs were kept (no ``ids.mdb``, no ``variant_ids`` in ``dataset.json``).

Expectations come from the records only: :func:`expected_variants` reads the ID
columns the test wrote, :func:`expected_rows` the counts (``tests.mesh_harness``).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from tests.mesh_harness import NodeSpec, expected_totals, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord

Variant = tuple[str, int, str, str]


def _counts(rng: random.Random, n_alt: int) -> GroupCounts:
    an = rng.randrange(200, 2000, 2)
    ac = [rng.randrange(1, an // 4) for _ in range(n_alt)]
    return GroupCounts(an=an, ac=ac, hom=[rng.randrange(0, a // 2 + 1) for a in ac])


def _record(
    rng: random.Random, chrom: str, pos: int, ref: str, alts: list[str], rsid: str
) -> SiteRecord:
    return SiteRecord(chrom, pos, ref, alts, _counts(rng, len(alts)), id=rsid)


def world_records(seed: int = 14) -> dict[str, tuple[str, list[SiteRecord]]]:
    """dataset id -> (country, records)."""
    rng = random.Random(seed)
    no = [
        _record(rng, "1", 1000, "A", ["G"], "rs100"),
        _record(rng, "1", 2000, "C", ["T", "A"], "rs200"),
        _record(rng, "1", 3000, "G", ["A"], "rs300;rs301"),
        _record(rng, "1", 7000, "C", ["G"], "."),
        _record(rng, "2", 5000, "T", ["C"], "rs400"),
        _record(rng, "2", 6000, "A", ["G"], "rs400"),
    ]
    fi = [
        _record(rng, "1", 1000, "A", ["G"], "."),
        _record(rng, "1", 3000, "G", ["A"], "rs301"),
        _record(rng, "2", 6000, "A", ["G"], "rs400"),
    ]
    lu = [
        _record(rng, "1", 1000, "A", ["G"], "rs100"),
        _record(rng, "1", 8000, "T", ["A"], "rs800"),
    ]
    return {"no-ids": ("NO", no), "fi-ids": ("FI", fi), "lu-old": ("LU", lu)}


#: Datasets whose index is made as one built before rsIDs were kept.
OLD = ("lu-old",)


def make_old(index: Path) -> None:
    """Turn a built index into what an earlier build wrote: no rsID table, no flag."""
    version = Path(os.path.realpath(index))
    (version / "ids.mdb").unlink()
    metadata = json.loads((version / "dataset.json").read_text())
    del metadata["variant_ids"], metadata["variant_id_count"]
    (version / "dataset.json").write_text(json.dumps(metadata))


World = dict[str, tuple[str, list[SiteRecord]]]


def build_world(tmp: Path, seed: int = 14) -> tuple[list[NodeSpec], World]:
    """Build the three indexes; return one node per country and the records."""
    records = world_records(seed)
    specs = []
    for dataset_id, (country, recs) in records.items():
        index = write_dataset(tmp / dataset_id, dataset_id, recs)
        if dataset_id in OLD:
            make_old(index)
        specs.append(NodeSpec(f"{country.lower()}-1", country, [index]))
    return specs, records


def expected_variants(records: dict[str, tuple[str, list[SiteRecord]]], rsid: str) -> list[Variant]:
    """Every variant a record with ``rsid`` in its ID column split into (indexed datasets)."""
    found = set()
    for dataset_id, (_country, recs) in records.items():
        if dataset_id in OLD:
            continue
        for rec in recs:
            if rsid in rec.id.lower().split(";"):
                found.update((rec.chrom, rec.pos, rec.ref, alt) for alt in rec.alts)
    return sorted(found, key=lambda v: (int(v[0]), v[1], v[2], v[3]))


def expected_rows(
    records: dict[str, tuple[str, list[SiteRecord]]], variant: Variant
) -> dict[str, tuple[int | None, ...]]:
    """dataset id -> (AC, AN, hom, het, hemi) of ``variant``, for every dataset holding it."""
    rows = {}
    for dataset_id, (_country, recs) in records.items():
        totals = expected_totals(recs)
        if variant in totals:
            rows[dataset_id] = totals[variant]
    return rows
