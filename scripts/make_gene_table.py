"""Regenerate ``mesh/data/genes_GRCh38.tsv.gz``, the gene table shipped with allelemesh.

Source: Bioconductor's ``org.Hs.eg.db`` as Debian packages it (``r-bioc-org.hs.eg.db``).
The script downloads the ``.deb`` with ``apt-get download`` (run ``apt-get update``
first on a fresh machine), extracts it with ``dpkg-deb``, reads the SQLite database
inside with the ``sqlite3`` command-line tool and writes the table::

    python scripts/make_gene_table.py            # writes mesh/data/genes_GRCh38.tsv.gz
    python scripts/make_gene_table.py --deb X.deb --out /tmp/genes.tsv.gz

What the table holds, per gene (NCBI Gene id) and canonical chromosome: the official
symbol, its NCBI synonyms (HGNC previous symbols and aliases, which NCBI Gene does not
tell apart), and the span over every transcript placement on that chromosome. Genes
without a placement on a canonical chromosome keep a row with empty coordinates, so
that a symbol the nomenclature knows is never answered as "unknown" (except NCBI's
unplaced ``LOC<gene id>`` placeholder records, left out to keep the table small).

Coordinates: the database's ``chromosome_locations`` (its ``CHRLOC`` map) are UCSC
transcript placements (``map_metadata`` names the source and date): the start is
0-based, the end is the last base (UCSC's half-open ``txStart``/``txEnd``), and a
negative value marks the minus strand. They are written 1-based and inclusive as a
``Region`` is: ``start = |start_location| + 1``, ``end = |end_location|``. Checked
against published GRCh38 spans: BRCA1 43,044,295-43,125,364 (NCBI Gene 672) is
``-43044294..-43125364`` in the database, TP53 7,668,421-7,687,490 (NCBI Gene 7157)
is ``-7668420..-7687490``, PCSK9 55,039,548-55,064,852 is ``55039547..55064852``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PACKAGE = "r-bioc-org.hs.eg.db"
SQLITE_IN_DEB = "usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "mesh" / "data" / "genes_GRCh38.tsv.gz"
CANONICAL = {*(str(i) for i in range(1, 23)), "X", "Y", "MT"}
COLUMNS = ("symbol", "ncbi_gene_id", "synonyms", "chromosome", "start", "end")


def _tool(name: str) -> str:
    """The full path of a command-line tool this script runs."""
    path = shutil.which(name)
    if path is None:
        sys.exit(f"{name} is not installed (Debian: apt-get install {_PROVIDERS[name]})")
    return path


_PROVIDERS = {"sqlite3": "sqlite3", "apt-get": "apt", "dpkg-deb": "dpkg"}


def _sqlite(db: Path, sql: str) -> list[list[str]]:
    """Rows of ``sql`` read with the sqlite3 tool (CSV mode, so no value is mis-split)."""
    out = subprocess.run(
        [_tool("sqlite3"), "-readonly", "-csv", str(db), sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return list(csv.reader(io.StringIO(out)))


def download(workdir: Path) -> Path:
    """``apt-get download`` the package into ``workdir``; returns the ``.deb``."""
    subprocess.run([_tool("apt-get"), "download", PACKAGE], cwd=workdir, check=True)
    debs = sorted(workdir.glob(f"{PACKAGE}_*.deb"))
    if not debs:
        sys.exit(f"apt-get download left no {PACKAGE}_*.deb in {workdir}")
    return debs[-1]


def extract(deb: Path, workdir: Path) -> Path:
    """Unpack ``deb`` with dpkg-deb; returns the SQLite database inside."""
    root = workdir / "deb"
    subprocess.run([_tool("dpkg-deb"), "-x", str(deb), str(root)], check=True)
    return root / SQLITE_IN_DEB


def header_lines(db: Path, deb: Path) -> list[str]:
    """Provenance for the table's header: package, database metadata, conventions."""
    meta = {row[0]: row[1] for row in _sqlite(db, "SELECT name, value FROM metadata")}
    maps = {
        row[0]: row[1:]
        for row in _sqlite(
            db, "SELECT map_name, source_name, source_url, source_date FROM map_metadata"
        )
    }
    symbol_source, symbol_url, symbol_date = maps["SYMBOL"]
    loc_source, loc_url, loc_date = maps["CHRLOC"]
    version = deb.name.removeprefix(f"{PACKAGE}_").removesuffix("_all.deb")
    return [
        "# allelemesh gene table, assembly GRCh38 (regenerate: python scripts/make_gene_table.py)",
        f"# source: Debian package {PACKAGE} {version} (Bioconductor org.Hs.eg.db), "
        f"{meta.get('ORGANISM', '')}, db schema {meta.get('DBSCHEMA', '')} "
        f"{meta.get('DBSCHEMAVERSION', '')}",
        f"# symbols and synonyms: {symbol_source} {symbol_url} {symbol_date}",
        f"# locations: {loc_source} {loc_url or '(no url)'} {loc_date} (map CHRLOC)",
        f"# citation: org.Hs.eg.db {version} (Debian), names {symbol_source} {symbol_date}, "
        f"locations {loc_source.split(' (')[0]} {loc_date}",
        "# coordinates: 1-based, inclusive (database start 0-based, converted: |start| + 1, "
        "|end|); span over every placement on the chromosome; empty: no placement",
    ]


def gene_rows(db: Path) -> list[list[str]]:
    """One row per gene and canonical chromosome (or one without coordinates)."""
    genes = {
        row[0]: (row[1], row[2])
        for row in _sqlite(db, "SELECT _id, symbol, gene_id FROM genes JOIN gene_info USING (_id)")
    }
    synonyms: dict[str, set[str]] = defaultdict(set)
    for key, alias in _sqlite(db, "SELECT _id, alias_symbol FROM alias"):
        synonyms[key].add(alias)
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for key, seqname, start, end in _sqlite(
        db, "SELECT _id, seqname, start_location, end_location FROM chromosome_locations"
    ):
        if seqname not in CANONICAL:
            continue  # alt, fix and random contigs: not a canonical chromosome
        first, last = abs(int(start)) + 1, abs(int(end))
        low, high = spans.get((key, seqname), (first, last))
        spans[(key, seqname)] = (min(low, first), max(high, last))
    placed: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for (key, chromosome), (start, end) in sorted(spans.items()):
        placed[key].append((chromosome, start, end))
    rows = []
    for key, (symbol, gene_id) in genes.items():
        names = ",".join(sorted(synonyms[key] - {symbol}))
        if not placed[key] and symbol == f"LOC{gene_id}":
            continue  # an unplaced placeholder record: nothing a user asks for by name
        if not placed[key]:
            rows.append([symbol, gene_id, names, "", "", ""])
        for chromosome, start, end in placed[key]:
            rows.append([symbol, gene_id, names, chromosome, str(start), str(end)])
    rows.sort(key=lambda r: (r[0].upper(), r[0], r[3]))
    return rows


def write_table(out: Path, header: list[str], rows: list[list[str]]) -> None:
    """Gzipped TSV, reproducible (no timestamp in the gzip header)."""
    text = io.StringIO()
    for line in header:
        text.write(line + "\n")
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(text.getvalue().encode("utf-8"))


def main() -> int:
    """Download (or take ``--deb``), extract, read and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deb", type=Path, help="use this .deb instead of apt-get download")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        deb = args.deb.resolve() if args.deb else download(workdir)
        db = extract(deb, workdir)
        header = header_lines(db, deb)
        rows = gene_rows(db)
        write_table(args.out, header, rows)
    print(f"wrote {args.out}: {len(rows)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
