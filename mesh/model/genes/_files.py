"""Operator gene files (``[genes] GRCh37 = "gencode.v19.annotation.gtf.gz"``): GTF or BED.

Read with pysam's parsers (``asGTF``, ``asBed``), plain or gzipped. A GTF gives each
``gene_name`` (and ``gene_id``) the span of its ``gene`` records, or of all its records
when the file has no ``gene`` lines; a BED gives each ``name`` the union of its lines.
Both formats' starts are converted to 1-based (GTF is 1-based in the file, pysam gives
it 0-based like BED). Records on contigs that are not canonical chromosomes (alt,
patches, unplaced) are skipped and counted.
"""

from __future__ import annotations

import gzip
import logging
from pathlib import Path
from typing import IO, Any

import pysam

from mesh.errors import ConfigError, InvalidArgumentError
from mesh.model.genes._model import LocusTable
from mesh.model.genome import Assembly, canonical_chromosome
from mesh.model.variants import RegionKey

log = logging.getLogger(__name__)

GTF_SUFFIXES = (".gtf", ".gtf.gz", ".gff2", ".gff2.gz")
BED_SUFFIXES = (".bed", ".bed.gz")


def _open(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_gene_file(path: Path, assembly: Assembly, key: str = "genes") -> LocusTable:
    """The gene spans of a GTF or BED file (its format from its name)."""
    name = path.name.lower()
    if not path.is_file():
        raise ConfigError(f"[genes] {key}: no such file {path}")
    if name.endswith(GTF_SUFFIXES):
        table = _read_gtf(path, assembly)
    elif name.endswith(BED_SUFFIXES):
        table = _read_bed(path, assembly)
    else:
        raise ConfigError(
            f"[genes] {key}: {path.name} is neither GTF ({', '.join(GTF_SUFFIXES)}) "
            f"nor BED ({', '.join(BED_SUFFIXES)})"
        )
    if not table.genes:
        raise ConfigError(f"[genes] {key}: {path} holds no gene on a canonical chromosome")
    return table


def _chromosome(contig: str, assembly: Assembly) -> str | None:
    try:
        return canonical_chromosome(contig, assembly)
    except InvalidArgumentError:
        return None


def _records(path: Path, parser: Any) -> Any:
    """Parsed records of ``path``; a malformed one stops with the record number named."""
    with _open(path) as handle:
        number = 0
        try:
            records = pysam.tabix_iterator(handle, parser)  # type: ignore[arg-type]  # a file object
            for number, record in enumerate(records, start=1):
                yield number, record
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise ConfigError(f"[genes] {path}: record {number + 1} is malformed: {exc}") from None


def _check_span(path: Path, number: int, record: Any) -> None:
    """Refuse a start or end that is not a number (pysam reads it as -1 or 0)."""
    if record.start < 0 or record.end <= record.start:
        raise ConfigError(
            f"[genes] {path}: record {number} has no valid start and end "
            f"(read {record.start + 1}..{record.end})"
        )


def _read_gtf(path: Path, assembly: Assembly) -> LocusTable:
    genes = LocusTable(assembly, f"{path.name} (GTF)")
    others = LocusTable(assembly, genes.source)
    skipped = 0
    for number, record in _records(path, pysam.asGTF()):
        _check_span(path, number, record)
        chromosome = _chromosome(record.contig, assembly)
        if chromosome is None:
            skipped += 1
            continue
        attributes = record.to_dict()
        gene_id = str(attributes.get("gene_id", ""))
        gene_name = str(attributes.get("gene_name", "") or gene_id)
        if not gene_name:
            continue
        locus = RegionKey(chromosome, record.start + 1, record.end)
        target = genes if record.feature == "gene" else others
        target.add(gene_name, gene_id, locus)
        for alias in {gene_id, gene_id.partition(".")[0]} - {gene_name, ""}:
            target.add(alias, gene_id, locus)  # ENSG00000169174(.9) finds it too
    table = genes if genes.genes else others
    log.info("gene file %s: %d names, %d records skipped", path.name, len(table.genes), skipped)
    return table


def _read_bed(path: Path, assembly: Assembly) -> LocusTable:
    table = LocusTable(assembly, f"{path.name} (BED)")
    skipped = 0
    for number, record in _records(path, pysam.asBed()):
        _check_span(path, number, record)
        chromosome = _chromosome(record.contig, assembly)
        if chromosome is None:
            skipped += 1
            continue
        if len(record) < 4 or not record.name:
            raise ConfigError(f"[genes] {path}: record {number} has no name (column 4)")
        table.add(record.name, "", RegionKey(chromosome, record.start + 1, record.end))
    log.info("gene file %s: %d names, %d records skipped", path.name, len(table.genes), skipped)
    return table
