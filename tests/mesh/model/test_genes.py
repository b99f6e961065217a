"""Gene resolution (mesh.model.genes) against an independent reading of the shipped table.

The expected spans, synonyms and closest symbols are read here from the gzipped TSV
with csv and difflib, without mesh.model.genes; the GRCh37 gene file is a GTF (and a BED)
this test writes.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import random
from collections import defaultdict
from pathlib import Path

import pytest

from mesh.config import load_gateway_config
from mesh.errors import ConfigError, InvalidArgumentError
from mesh.model.genes import MatchKind, load_gene_catalog, shipped_gene_catalog, shipped_table_path
from mesh.model.genome import Assembly
from mesh.model.notation import parse_variant_or_region
from mesh.model.variants import RegionKey

TABLE = Path(__file__).resolve().parents[3] / "mesh" / "data" / "genes_GRCh38.tsv.gz"


def _read_table() -> tuple[list[str], list[dict[str, str]]]:
    with gzip.open(TABLE, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    header = [line for line in lines if line.startswith("#")]
    rows = list(
        csv.DictReader([line for line in lines if not line.startswith("#")], delimiter="\t")
    )
    return header, rows


HEADER, ROWS = _read_table()


def _spans() -> dict[str, list[tuple[str, int, int]]]:
    spans: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for row in ROWS:
        if row["chromosome"]:
            spans[row["symbol"]].append((row["chromosome"], int(row["start"]), int(row["end"])))
    return spans


SPANS = _spans()


def test_the_shipped_table_is_the_installed_one_and_says_where_it_comes_from() -> None:
    assert shipped_table_path().resolve() == TABLE.resolve()
    text = "\n".join(HEADER)
    assert "r-bioc-org.hs.eg.db 3.16.0-1" in text  # package and version
    assert "Entrez Gene" in text
    assert "2022-Sep12" in text
    assert "UCSC" in text
    assert "2022-Aug31" in text
    assert "1-based, inclusive" in text
    assert "scripts/make_gene_table.py" in text
    assert len(ROWS) > 40_000


def test_every_sampled_gene_resolves_to_its_row_span_in_any_case() -> None:
    catalog = shipped_gene_catalog()
    single = [s for s, loci in SPANS.items() if len(loci) == 1]
    for symbol in random.Random(14).sample(single, 300):
        query = symbol.lower() if len(symbol) % 2 else symbol
        gene = catalog.resolve(query, Assembly.GRCH38)
        assert gene.symbol == symbol
        assert gene.match == MatchKind.SYMBOL
        assert gene.region == RegionKey(*SPANS[symbol][0])
        assert gene.other_loci == ()


def test_coordinates_are_one_based_inclusive_like_published_grch38_spans() -> None:
    # NCBI Gene 672 (BRCA1): NC_000017.11 (43044295..43125364); the database holds the
    # 0-based start 43044294. A table left 0-based would fail here.
    catalog = shipped_gene_catalog()
    assert catalog.resolve("BRCA1", Assembly.GRCH38).region == RegionKey("17", 43044295, 43125364)
    assert catalog.resolve("pcsk9", Assembly.GRCH38).region.start == 55039548


def test_a_pseudoautosomal_gene_searches_x_and_names_its_y_copy() -> None:
    gene = shipped_gene_catalog().resolve("SHOX", Assembly.GRCH38)
    x, y = sorted(SPANS["SHOX"])
    assert gene.region == RegionKey(*x)
    assert gene.other_loci == (RegionKey(*y),)


def _synonyms() -> dict[str, set[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        for name in filter(None, row["synonyms"].split(",")):
            owners[name.upper()].add(row["symbol"])
    return owners


def test_previous_symbols_and_aliases_resolve_with_the_resolution_shown() -> None:
    catalog = shipped_gene_catalog()
    gene = catalog.resolve("narc1", Assembly.GRCH38)
    assert (gene.symbol, gene.match, gene.matched_name) == ("PCSK9", MatchKind.SYNONYM, "NARC1")
    assert gene.region == RegionKey(*SPANS["PCSK9"][0])
    assert gene.resolution.startswith("NARC1 is a previous symbol or alias of PCSK9")
    symbols = {row["symbol"].upper() for row in ROWS}
    unique = [
        (name, next(iter(owners)))
        for name, owners in _synonyms().items()
        if len(owners) == 1 and name not in symbols and next(iter(owners)) in SPANS
    ]
    for name, owner in random.Random(7).sample(unique, 100):
        found = catalog.resolve(name, Assembly.GRCH38)
        assert (found.symbol, found.match) == (owner, MatchKind.SYNONYM)
        assert found.region == RegionKey(*sorted(SPANS[owner], key=_order)[0])


def _order(locus: tuple[str, int, int]) -> tuple[int, int]:
    chromosome = locus[0]
    rank = int(chromosome) if chromosome.isdigit() else {"X": 23, "Y": 24, "MT": 25}[chromosome]
    return rank, locus[1]


def test_an_approved_symbol_wins_over_a_synonym_of_another_gene() -> None:
    symbols = {row["symbol"].upper(): row["symbol"] for row in ROWS}
    clash = sorted(n for n, owners in _synonyms().items() if n in symbols and owners)[0]
    gene = shipped_gene_catalog().resolve(clash, Assembly.GRCH38)
    assert (gene.symbol, gene.match) == (symbols[clash], MatchKind.SYMBOL)


def test_a_synonym_of_several_genes_is_refused_naming_them() -> None:
    symbols = {row["symbol"].upper() for row in ROWS}
    name, owners = next(
        (n, o) for n, o in sorted(_synonyms().items()) if len(o) > 1 and n not in symbols
    )
    with pytest.raises(InvalidArgumentError) as caught:
        shipped_gene_catalog().resolve(name, Assembly.GRCH38)
    assert caught.value.reason == "AMBIGUOUS_GENE"
    assert caught.value.field == "gene"
    for owner in owners:
        assert owner in caught.value.message


def test_an_unknown_symbol_names_the_closest_symbols_as_difflib_ranks_them() -> None:
    symbols = {row["symbol"].upper(): row["symbol"] for row in ROWS}
    for typo in ("PCKS9", "BRAC1", "CFTT"):
        expected = [symbols[s] for s in difflib.get_close_matches(typo, list(symbols), n=5)]
        with pytest.raises(InvalidArgumentError) as caught:
            shipped_gene_catalog().resolve(typo, Assembly.GRCH38)
        error = caught.value
        assert error.reason == "UNKNOWN_GENE"
        assert typo in error.message
        assert error.metadata["closest"] == ",".join(expected)
        assert f"closest symbols: {', '.join(expected)}" in error.message
    assert "PCSK9" in shipped_gene_catalog().closest("PCKS9")


def test_a_gene_without_coordinates_for_the_assembly_names_gene_and_assembly() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        shipped_gene_catalog().resolve("PCSK9", Assembly.GRCH37)
    assert caught.value.reason == "GENE_NOT_IN_ASSEMBLY"
    assert "PCSK9" in caught.value.message
    assert "GRCh37" in caught.value.message
    unplaced = next(r["symbol"] for r in ROWS if not r["chromosome"] and r["symbol"].isalnum())
    with pytest.raises(InvalidArgumentError) as caught:
        shipped_gene_catalog().resolve(unplaced, Assembly.GRCH38)
    assert caught.value.reason == "GENE_NOT_IN_ASSEMBLY"
    assert unplaced in caught.value.message
    assert "GRCh38" in caught.value.message


@pytest.mark.parametrize("text", ["", "PC\tSK9", "<b>PCSK9</b>", "x" * 80])
def test_text_that_is_not_a_symbol_is_a_400(text: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        shipped_gene_catalog().resolve(text, Assembly.GRCH38)
    assert caught.value.reason == "INVALID_GENE"


def _attrs(gene_id: str, name: str) -> str:
    return f'gene_id "{gene_id}"; gene_type "protein_coding"; gene_name "{name}"; level 2;'


def write_grch37_gtf(path: Path) -> dict[str, tuple[str, int, int]]:
    """A GENCODE-style GRCh37 GTF (chr names, gene + transcript + exon lines); 1-based spans."""
    genes = {
        # name in file: (chromosome, start, end) as written (GTF is 1-based, inclusive)
        "PCSK9": ("1", 55505221, 55530525),
        "NARC1X": ("2", 1000, 2000),  # a made-up name only this file knows
        "C10orf2": ("10", 102747293, 102754158),  # TWNK's previous symbol, as GENCODE 19 has
    }
    lines = ["##description: test GTF", "##provider: allelemesh tests"]
    for i, (name, (chrom, start, end)) in enumerate(genes.items()):
        gene_id = f"ENSG0000000{i}.7"
        attrs = _attrs(gene_id, name)
        lines.append(f"chr{chrom}\tHAVANA\tgene\t{start}\t{end}\t.\t+\t.\t{attrs}")
        lines.append(f"chr{chrom}\tHAVANA\ttranscript\t{start + 5}\t{end}\t.\t+\t.\t{attrs}")
        lines.append(f"chr{chrom}\tHAVANA\texon\t{start + 5}\t{start + 50}\t.\t+\t.\t{attrs}")
    lines.append(f"GL000192.1\tHAVANA\tgene\t10\t20\t.\t+\t.\t{_attrs('ENSG9', 'ALTGENE')}")
    path.write_text("\n".join(lines) + "\n")
    return genes


def test_an_operator_gtf_gives_grch37_spans_one_based(tmp_path: Path) -> None:
    gtf = tmp_path / "gencode.v19.test.gtf"
    genes = write_grch37_gtf(gtf)
    gz = tmp_path / "gencode.v19.test.gtf.gz"
    gz.write_bytes(gzip.compress(gtf.read_bytes()))
    for path in (gtf, gz):
        catalog = load_gene_catalog({Assembly.GRCH37: path})
        gene = catalog.resolve("pcsk9", Assembly.GRCH37)
        assert gene.region == RegionKey(*genes["PCSK9"])
        assert gene.assembly == Assembly.GRCH37
        assert path.name in gene.source
        # The GRCh38 table is still the shipped one.
        assert catalog.resolve("PCSK9", Assembly.GRCH38).region == RegionKey(*SPANS["PCSK9"][0])
        # Today's symbol finds the file's older name; the resolution names today's symbol.
        twnk = catalog.resolve("TWNK", Assembly.GRCH37)
        assert (twnk.symbol, twnk.region) == ("TWNK", RegionKey(*genes["C10orf2"]))
        # A name only the file knows, and its Ensembl id without the version.
        own = catalog.resolve("narc1x", Assembly.GRCH37)
        assert (own.symbol, own.match, own.region) == (
            "NARC1X",
            MatchKind.FILE_NAME,
            RegionKey(*genes["NARC1X"]),
        )
        assert catalog.resolve("ENSG00000001", Assembly.GRCH37).region == own.region
        with pytest.raises(InvalidArgumentError) as caught:
            catalog.resolve("BRCA1", Assembly.GRCH37)
        assert caught.value.reason == "GENE_NOT_IN_ASSEMBLY"
        assert "BRCA1" in caught.value.message
        assert "GRCh37" in caught.value.message
        assert path.name in caught.value.message
        with pytest.raises(InvalidArgumentError):
            catalog.resolve("ALTGENE", Assembly.GRCH37)  # on a contig that is no chromosome


def test_an_operator_bed_is_zero_based_in_the_file(tmp_path: Path) -> None:
    bed = tmp_path / "genes37.bed"
    bed.write_text("chr1\t55505220\t55530525\tPCSK9\t0\t+\nchrX\t99\t200\tMYGENE\t0\t-\n")
    catalog = load_gene_catalog({Assembly.GRCH37: bed})
    assert catalog.resolve("PCSK9", Assembly.GRCH37).region == RegionKey("1", 55505221, 55530525)
    assert catalog.resolve("mygene", Assembly.GRCH37).region == RegionKey("X", 100, 200)


def test_bad_gene_files_stop_the_start_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gtf"
    bad.write_text('chr1\tX\tgene\tnot-a-number\t10\t.\t+\t.\tgene_name "A";\n')
    with pytest.raises(ConfigError, match=r"bad\.gtf"):
        load_gene_catalog({Assembly.GRCH37: bad})
    (tmp_path / "genes.txt").write_text("x")
    with pytest.raises(ConfigError, match="neither GTF"):
        load_gene_catalog({Assembly.GRCH37: tmp_path / "genes.txt"})
    with pytest.raises(ConfigError, match="no such file"):
        load_gene_catalog({Assembly.GRCH37: tmp_path / "missing.gtf"})


def test_gateway_config_reads_genes_per_assembly(tmp_path: Path) -> None:
    (tmp_path / "g37.gtf.gz").write_bytes(b"")
    toml = tmp_path / "gateway.toml"
    body = (
        '[gateway]\nid = "gw"\nlisten = "127.0.0.1:0"\n'
        '[[peers]]\nid = "no"\ncountry = "NO"\naddresses = ["127.0.0.1:1"]\n'
    )
    toml.write_text(body + '[genes]\nGRCh37 = "g37.gtf.gz"\n')
    config = load_gateway_config(toml)
    assert config.genes == {Assembly.GRCH37: tmp_path / "g37.gtf.gz"}
    toml.write_text(body + '[genes]\nhg17 = "g37.gtf.gz"\n')
    with pytest.raises(ConfigError, match="hg17"):
        load_gateway_config(toml)


def test_a_gene_given_as_a_variant_points_to_the_gene_doors() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_variant_or_region("PCSK9", Assembly.GRCH38)
    assert "/v1/genes/PCSK9" in caught.value.message
    assert "Beacon geneId" in caught.value.message
