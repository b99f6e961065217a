"""The gene table shipped with allelemesh (``mesh/data/genes_GRCh38.tsv.gz``).

Written by ``scripts/make_gene_table.py`` from Debian's ``r-bioc-org.hs.eg.db``; its
``#`` header says the source, version and date. Columns: ``symbol``,
``ncbi_gene_id``, ``synonyms`` (comma-separated), ``chromosome``, ``start``, ``end``
(1-based, inclusive; empty when the gene has no placement). A gene on two chromosomes
(pseudoautosomal) has one row per chromosome.
"""

from __future__ import annotations

import csv
import gzip
from importlib import resources
from pathlib import Path

from mesh.errors import ConfigError
from mesh.model.genes._model import GeneName, LocusTable
from mesh.model.genome import Assembly
from mesh.model.variants import RegionKey

SHIPPED_TABLE = "genes_GRCh38.tsv.gz"
COLUMNS = ("symbol", "ncbi_gene_id", "synonyms", "chromosome", "start", "end")


def shipped_table_path() -> Path:
    """Where the shipped table is installed."""
    return Path(str(resources.files("mesh") / "data" / SHIPPED_TABLE))


def read_gene_table(
    path: Path, assembly: Assembly = Assembly.GRCH38
) -> tuple[dict[str, GeneName], LocusTable]:
    """The names (by upper-cased symbol) and the loci of a gene table file."""
    names: dict[str, GeneName] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
        header = [line for line in lines if line.startswith("#")]
        reader = csv.DictReader(lines[len(header) :], delimiter="\t")
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ConfigError(f"{path}: gene table columns are {reader.fieldnames}, not {COLUMNS}")
        source = _source(header, path)
        table = LocusTable(assembly, source)
        for row in reader:
            symbol = row["symbol"]
            synonyms = tuple(s for s in row["synonyms"].split(",") if s)
            names.setdefault(symbol.upper(), GeneName(symbol, row["ncbi_gene_id"], synonyms))
            if row["chromosome"]:
                locus = RegionKey(row["chromosome"], int(row["start"]), int(row["end"]))
                table.add(symbol, row["ncbi_gene_id"], locus)
    return names, table


def _source(header: list[str], path: Path) -> str:
    """The table's ``# citation:`` header line (its source, version and dates)."""
    for line in header:
        if line.startswith("# citation:"):
            return line.removeprefix("# citation:").strip()
    return path.name
