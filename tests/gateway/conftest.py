"""Shared datasets for the gateway tests: three countries, built once per session."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.mesh_harness import NodeSpec, VariantTuple, expected_totals, random_sites, write_dataset
from tests.vcf_factory import Counts, GroupCounts, SiteRecord


@dataclass
class Country:
    """One node's datasets and what each should count."""

    node_id: str
    country: str
    indexes: list[Path]
    #: dataset id -> variant -> expected (AC, AN, hom, het, hemi)
    expected: dict[str, dict[VariantTuple, Counts]] = field(default_factory=dict)

    def spec(self) -> NodeSpec:
        return NodeSpec(self.node_id, self.country, self.indexes)


def recount(rng: random.Random, records: list[SiteRecord]) -> list[SiteRecord]:
    """The same alleles with other counts (another country's cohort)."""
    out = []
    for rec in records:
        an = rng.randrange(100, 1000, 2)
        ac = [rng.randrange(1, an // 4) for _ in rec.alts]
        hom = [rng.randrange(0, a // 2 + 1) for a in ac]
        out.append(SiteRecord(rec.chrom, rec.pos, rec.ref, rec.alts, GroupCounts(an, ac, hom)))
    return out


def make_countries(root: Path, seed: int = 7) -> list[Country]:
    """NO (two datasets), FI and LU; about half the alleles are shared by every country."""
    rng = random.Random(seed)
    shared = random_sites(rng, 60, span=3_000)
    countries = []
    layout = [
        ("no-oslo", "NO", ["no-a", "no-b"]),
        ("fi-hki", "FI", ["fi-a"]),
        ("lu-lux", "LU", ["lu-a"]),
    ]
    for node_id, country, dataset_ids in layout:
        node = Country(node_id, country, [])
        for dataset_id in dataset_ids:
            own = [r for r in random_sites(rng, 40, span=3_000) if (r.chrom, r.pos) not in
                   {(s.chrom, s.pos) for s in shared}]  # fmt: skip
            kept = [r for r in recount(rng, shared) if rng.random() < 0.8]
            records = sorted(kept + own, key=lambda r: (int(r.chrom), r.pos))
            node.indexes.append(write_dataset(root / node_id, dataset_id, records))
            node.expected[dataset_id] = expected_totals(records)
        countries.append(node)
    return countries


@pytest.fixture(scope="session")
def countries(tmp_path_factory: pytest.TempPathFactory) -> list[Country]:
    return make_countries(tmp_path_factory.mktemp("countries"))
