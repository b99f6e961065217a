"""Left-alignment with a reference FASTA, and the ``index`` CLI commands."""

from __future__ import annotations

import argparse
import json

import pysam

from mesh.model.reference import FastaReference
from nodes.build.builder import BuildOptions, build_index
from nodes.index_cli import add_index_commands
from tests.nodes.helpers import counts_by_label, lookup, read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

# chr1 bases 1..40: an A-run at 11..16 where a 1-base deletion can be written anywhere.
CHR1 = "GGGGGGGGGCAAAAAACGTACGTACGTACGTACGTACGTA"


def _fasta(tmp_path, name="chr1"):
    fasta = tmp_path / "ref.fa"
    fasta.write_text(f">{name}\n{CHR1}\n>chrUn_x\nACGT\n")
    pysam.faidx(str(fasta))
    return fasta


def test_reference_resolves_names(tmp_path):
    ref = FastaReference(_fasta(tmp_path), "GRCh38")
    assert ref.fetch("1", 9, 12) == "CAA"
    assert ref.fetch("2", 0, 5) == ""
    ref.close()


def test_left_alignment_with_reference(tmp_path):
    # The same deletion written at the right end of the run (pos 15: AA>A) and at an
    # inner position in another record: both must land on 1:10 CA>C.
    recs = [SiteRecord("1", 15, "AA", ["A"], GroupCounts(100, [4], [1]))]
    vcf = write_sites_vcf(tmp_path / "r.vcf", recs, style="basic")
    out = tmp_path / "index"
    build_index(BuildOptions([vcf], "ds", out, reference=_fasta(tmp_path)))
    assert counts_by_label(lookup(out, "1", 10, "CA", "C"))[""] == (4, 100, 1, 2, None)
    assert len(read_raw(out)) == 1


def test_cli_build_and_info(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="allelemesh")
    add_index_commands(parser.add_subparsers(dest="command", required=True))
    recs = [SiteRecord("1", 100, "A", ["C"], GroupCounts(100, [5], [1]))]
    vcf = write_sites_vcf(tmp_path / "v.vcf", recs, style="basic")
    out = tmp_path / "index"
    args = parser.parse_args(
        ["index", "build", str(vcf), "--dataset", "no-1", "--out", str(out), "--title", "Norway"]
    )
    assert args.handler(args) == 0
    assert "built" in capsys.readouterr().out
    args = parser.parse_args(["index", "info", str(out), "--json"])
    assert args.handler(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "no-1"
    assert data["title"] == "Norway"
    assert data["variant_count"] == 1
    args = parser.parse_args(["index", "info", str(out)])
    assert args.handler(args) == 0
    assert "no-1" in capsys.readouterr().out
    bad = tmp_path / "bad.vcf"
    bad.write_text(vcf.read_text() + "chr1\t200\t.\tA\tC\t.\tPASS\tAC=9;AN=5;nhomalt=0\n")
    args = parser.parse_args(["index", "build", str(bad), "--dataset", "x", "--out", str(out)])
    assert args.handler(args) == 1
    assert "chr1:200" in capsys.readouterr().err
    args = parser.parse_args(["index", "info", str(tmp_path)])
    assert args.handler(args) == 1
