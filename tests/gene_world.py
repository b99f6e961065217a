"""A mesh with variants in and around a gene, and what a gene query should answer.

The gene's span is read here from the shipped table with csv (not with mesh.model.genes);
the expected variants, per-dataset, per-country and pooled counts come from the
records the world writes (:func:`tests.mesh_harness.expected_totals`). Three countries:
NO with two datasets, FI and LU; some positions hold alleles from several countries,
some an allele only one country has beside another country's allele at the same
position (so one position's rows come from several nodes, not adjacent in a region
page). A GRCh37 dataset sits in the span a GTF the world writes gives PCSK9 there.
"""

from __future__ import annotations

import csv
import gzip
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.count_helpers import pool_tuples
from tests.mesh_harness import NodeSpec, VariantTuple, expected_totals, write_dataset
from tests.vcf_factory import Counts, GroupCounts, SiteRecord

REPO = Path(__file__).resolve().parent.parent
TABLE = REPO / "mesh" / "data" / "genes_GRCh38.tsv.gz"
GENE = "PCSK9"
#: PCSK9 on GRCh37 in the GTF this world writes (1-based, inclusive).
GRCH37_SPAN = ("1", 55505221, 55530525)


def table_span(symbol: str) -> tuple[str, int, int]:
    """The gene's span as the shipped TSV states it (one canonical locus)."""
    with gzip.open(TABLE, "rt", encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if not line.startswith("#")]
    for row in csv.DictReader(lines, delimiter="\t"):
        if row["symbol"] == symbol:
            return row["chromosome"], int(row["start"]), int(row["end"])
    raise AssertionError(f"{symbol} is not in {TABLE}")


@dataclass
class GeneWorld:
    """Node specs and the expected answer of the gene query."""

    span: tuple[str, int, int]
    specs: list[NodeSpec]
    #: node id -> country
    countries: dict[str, str]
    #: variant -> {(node id, dataset id): (AC, AN, hom, het, hemi)}
    rows: dict[VariantTuple, dict[tuple[str, str], Counts]] = field(default_factory=dict)
    grch37_gtf: Path | None = None
    grch37_rows: dict[VariantTuple, dict[tuple[str, str], Counts]] = field(default_factory=dict)

    def in_span(self, rows: dict[VariantTuple, dict[tuple[str, str], Counts]] | None = None,
                span: tuple[str, int, int] | None = None) -> list[VariantTuple]:  # fmt: skip
        """The variants a gene query should return, in genomic order."""
        chrom, start, end = span or self.span
        source = self.rows if rows is None else rows
        return sorted(v for v in source if v[0] == chrom and start <= v[1] <= end)

    def pooled(self, variant: VariantTuple) -> Counts:
        """The mesh-wide sum of a variant's rows."""
        return pool_tuples(self.rows[variant].values())

    def per_country(self, variant: VariantTuple) -> dict[str, Counts]:
        """Each country's sum of the variant's rows."""
        parts: dict[str, list[Counts]] = defaultdict(list)
        for (node_id, _), counts in self.rows[variant].items():
            parts[self.countries[node_id]].append(counts)
        return {cc: pool_tuples(p) for cc, p in sorted(parts.items())}


def _site(rng: random.Random, pos: int, ref: str, alts: list[str]) -> SiteRecord:
    an = rng.randrange(200, 2000, 2)
    ac = [rng.randrange(1, an // 4) for _ in alts]
    hom = [rng.randrange(0, a // 2 + 1) for a in ac]
    return SiteRecord("1", pos, ref, alts, GroupCounts(an=an, ac=ac, hom=hom))


def _records(rng: random.Random, span: tuple[str, int, int], count: int) -> list[list[SiteRecord]]:
    """Four datasets' records around ``span`` (some outside it on both sides)."""
    _, start, end = span
    positions = sorted(rng.sample(range(start - 400, end + 400), count))
    positions[:2] = [start - 1, start]  # the span's edges, exactly
    positions[-2:] = [end, end + 1]
    datasets: list[list[SiteRecord]] = [[], [], [], []]
    for pos in sorted(set(positions)):
        ref = rng.choice("ACGT")
        others = [b for b in "ACGT" if b != ref]
        rng.shuffle(others)
        holders = rng.sample(range(4), rng.randint(1, 4))
        for i, holder in enumerate(holders):
            # Mostly the same allele everywhere; sometimes another allele at the position.
            alts = [others[0]] if rng.random() < 0.7 else [others[i % 3]]
            if rng.random() < 0.15:
                alts = sorted({alts[0], others[(i + 1) % 3]})  # multi-allelic
            datasets[holder].append(_site(rng, pos, ref, alts))
    return datasets


#: (node id, country, dataset ids) of the GRCh38 world.
LAYOUT = [
    ("no-oslo", "NO", ["no-a", "no-b"]),
    ("fi-hki", "FI", ["fi-a"]),
    ("lu-lux", "LU", ["lu-a"]),
]


def make_gene_world(root: Path, *, count: int = 120, seed: int = 14) -> GeneWorld:
    """Write and index the world's datasets under ``root``."""
    rng = random.Random(seed)
    span = table_span(GENE)
    records = iter(_records(rng, span, count))
    world = GeneWorld(span, [], {})
    for node_id, country, dataset_ids in LAYOUT:
        indexes = []
        for dataset_id in dataset_ids:
            mine = next(records)
            indexes.append(write_dataset(root / node_id, dataset_id, mine))
            for variant, counts in expected_totals(mine).items():
                world.rows.setdefault(variant, {})[(node_id, dataset_id)] = counts
        world.specs.append(NodeSpec(node_id, country, indexes))
        world.countries[node_id] = country
    # GRCh37: one dataset at the FI node, in the GTF's PCSK9 span (and a site outside it).
    old = [_site(rng, p, "A", ["G"]) for p in (GRCH37_SPAN[1] - 1, GRCH37_SPAN[1] + 7, 55520000)]
    index37 = write_dataset(root / "fi-hki", "fi-37", old, assembly="GRCh37")
    for variant, counts in expected_totals(old, "GRCh37").items():
        world.grch37_rows.setdefault(variant, {})[("fi-hki", "fi-37")] = counts
    world.specs[1].indexes = [*world.specs[1].indexes, index37]
    world.grch37_gtf = root / "gencode.v19.pcsk9.gtf"
    attrs = 'gene_id "ENSG00000169174.9"; gene_type "protein_coding"; gene_name "PCSK9";'
    chrom, start, end = GRCH37_SPAN
    world.grch37_gtf.write_text(
        f"chr{chrom}\tHAVANA\tgene\t{start}\t{end}\t.\t+\t.\t{attrs}\n"
        f"chr{chrom}\tHAVANA\texon\t{start}\t{start + 300}\t.\t+\t.\t{attrs}\n"
    )
    return world
