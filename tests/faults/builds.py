"""Index versions with tell-tale counts, the ``index build`` CLI as a subprocess, checks.

Version ``k`` of a dataset has the same alleles as every other version, and allele
counts that differ from version 0 by ``k`` (AC + k), so one answer tells which version
it came from, and a mix of two versions cannot pass for either.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mesh.model.variants import VariantKey
from nodes.index.index_dir import read_metadata, versions_dir
from nodes.index.keys import encode_key
from nodes.index.records import ABSENT, ValueCodec
from tests.mesh_harness import REPO, VariantTuple, expected_totals, random_sites
from tests.nodes.helpers import read_raw
from tests.vcf_factory import Counts, GroupCounts, SiteRecord, write_sites_vcf

DATASET = "rebuilt"


def versioned_records(base: Sequence[SiteRecord], version: int) -> list[SiteRecord]:
    """``base`` with every AC raised by ``version`` (AN kept: AC stays below AN)."""
    return [
        SiteRecord(
            r.chrom,
            r.pos,
            r.ref,
            r.alts,
            GroupCounts(r.total.an, [a + version for a in r.total.ac], r.total.hom),
        )
        for r in base
    ]


def write_versions(
    root: Path, count: int, sites: int, seed: int = 3
) -> tuple[list[Path], list[dict[VariantTuple, Counts]]]:
    """VCFs of ``count`` versions and the expected counts of each."""
    base = random_sites(
        random.Random(seed), sites, chromosomes=("1",), span=sites * 20, multiallelic=0.1
    )
    vcfs, expected = [], []
    for k in range(count):
        records = versioned_records(base, k)
        vcfs.append(write_sites_vcf(root / f"v{k}.vcf", records, bgzip=True))
        expected.append(expected_totals(records))
    return vcfs, expected


def build_command(vcf: Path, out: Path, *extra: str) -> list[str]:
    """``python -m mesh index build VCF --dataset rebuilt --assembly GRCh38 --out OUT``."""
    return [
        sys.executable,
        "-m",
        "mesh",
        "--log-level",
        "WARNING",
        "index",
        "build",
        str(vcf),
        "--dataset",
        DATASET,
        "--assembly",
        "GRCh38",
        "--out",
        str(out),
        *extra,
    ]


def run_build(vcf: Path, out: Path, *extra: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run a build to the end (bounded: 120 s)."""
    return subprocess.run(
        build_command(vcf, out, *extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **popen,
    )


def which_version(
    answer: dict[VariantTuple, Counts], expected: Sequence[dict[VariantTuple, Counts]]
) -> int | None:
    """The one version every count of ``answer`` belongs to; None for a mix or garbage."""
    for k, table in enumerate(expected):
        if all(table.get(v) == c for v, c in answer.items()):
            return k
    return None


def served_version(out: Path, expected: Sequence[dict[VariantTuple, Counts]]) -> int | None:
    """Read the index ``out`` points to, whole: which version it is (None: broken)."""
    metadata = read_metadata(out)
    raw = read_raw(out)
    if metadata.id != DATASET or metadata.variant_count != len(raw):
        return None
    table = expected[0]
    if len(raw) != len(table):
        return None
    stored = {}
    for variant in table:
        value = raw.get(encode_key(VariantKey(*variant)))
        if value is None:
            return None
        total = ValueCodec(metadata.id, metadata.groups).frequency(value)[1]
        stored[variant] = tuple(None if v == ABSENT else v for v in total)
    return which_version(stored, expected)


def leftovers(out: Path) -> list[str]:
    """Temporary build directories and half-made symlinks next to ``out``."""
    found = []
    versions = versions_dir(out)
    if versions.exists():
        found += [p.name for p in versions.iterdir() if p.name.startswith("tmp-")]
    found += [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.link-")]
    return found


def finished_versions(out: Path) -> list[str]:
    versions = versions_dir(out)
    return sorted(p.name for p in versions.iterdir() if not p.name.startswith("tmp-"))
