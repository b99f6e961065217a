"""A real node over indexes built from VCFs this module writes, and what they should count.

Two GRCh38 datasets on one node (country NO):

* ``no-gnomad``: a gnomAD-style sites file with populations AFR, NFE and sexes M/F;
* ``no-gdi``: a GDI-style file with the groups NO, NO_M, NO_F.

The node (``tests/gateway/http/conftest.py``) runs in its own thread and event loop (module
scope, :mod:`tests.background_loop`); each test talks to it over real gRPC from its own
loop. Expected counts come from ``tests.vcf_factory``, which computes them from the same
records without allelemesh code.
"""

from __future__ import annotations

from pathlib import Path

from tests.mesh_harness import write_dataset
from tests.vcf_factory import (
    Counts,
    GroupCounts,
    SiteRecord,
    expected_site_counts,
)

NODE_ID = "no-oslo-1"
COUNTRY = "NO"
GNOMAD_POPS = ["AFR", "NFE", "M", "F"]
GDI_POPS = ["NO", "NO_M", "NO_F"]

#: 1-based VCF positions used by the tests.
POS = 55051215
RANGE_START = 55_060_000
RANGE_COUNT = 23  # records in the paging range (one ALT each)


def _gnomad_records() -> list[SiteRecord]:
    records = [
        SiteRecord(
            "1",
            POS,
            "G",
            ["A", "GA"],
            total=GroupCounts(an=1000, ac=[10, 3], hom=[2, 0]),
            populations={
                "AFR": GroupCounts(an=400, ac=[6, 1], hom=[1, 0]),
                "NFE": GroupCounts(an=600, ac=[4, 2], hom=[1, 0]),
                "M": GroupCounts(an=500, ac=[5, 1], hom=[1, 0]),
                "F": GroupCounts(an=500, ac=[5, 2], hom=[1, 0]),
            },
        ),
        SiteRecord(
            "1",
            POS + 85,
            "C",
            ["T"],
            total=GroupCounts(an=1000, ac=[1], hom=[0]),
            filters=["RF"],
        ),
    ]
    for i in range(RANGE_COUNT):
        records.append(
            SiteRecord(
                "1",
                RANGE_START + 3 * i,
                "A",
                ["C"] if i % 4 else ["ACT"],  # every 4th is an insertion
                total=GroupCounts(an=800, ac=[i + 1], hom=[0]),
            )
        )
    records.append(SiteRecord("2", 1000, "T", ["C"], total=GroupCounts(an=900, ac=[9], hom=[1])))
    return records


def _gdi_records() -> list[SiteRecord]:
    return [
        SiteRecord(
            "1",
            POS,
            "G",
            ["A"],
            total=GroupCounts(an=2000, ac=[40], hom=[5]),
            populations={
                "NO": GroupCounts(an=2000, ac=[40], hom=[5]),
                "NO_M": GroupCounts(an=1000, ac=[25], hom=[3]),
                "NO_F": GroupCounts(an=1000, ac=[15], hom=[2]),
            },
        ),
        SiteRecord("1", RANGE_START + 1, "G", ["T"], total=GroupCounts(an=2000, ac=[7], hom=[0])),
    ]


GNOMAD_RECORDS = _gnomad_records()
GDI_RECORDS = _gdi_records()


def expected(records: list[SiteRecord]) -> dict[tuple[str, int, str, str], dict[str, Counts]]:
    """``{(chrom, pos, ref, alt): {label: (AC, AN, hom, het, hemi)}}``, ``""`` the total."""
    table = {}
    for rec in records:
        for alt, counts in zip(rec.alts, expected_site_counts(rec), strict=True):
            table[(rec.chrom, rec.pos, rec.ref, alt)] = counts
    return table


EXPECTED = {"no-gnomad": expected(GNOMAD_RECORDS), "no-gdi": expected(GDI_RECORDS)}


def build_datasets(root: Path) -> list[tuple[str, Path]]:
    """Write both VCFs and build their indexes under ``root``."""
    built = []
    for dataset_id, records, groups, style in (
        ("no-gnomad", GNOMAD_RECORDS, GNOMAD_POPS, "gnomad"),
        ("no-gdi", GDI_RECORDS, GDI_POPS, "gdi"),
    ):
        title = f"Norway {dataset_id}"
        out = write_dataset(root, dataset_id, records, populations=groups, style=style, title=title)
        built.append((dataset_id, out))
    return built
