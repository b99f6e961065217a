"""Files split by ``vt decompose`` (and ``vt normalize``): each line's value picked by its allele.

vt keeps every INFO array in the original record's allele order and records the
original alleles in ``OLD_MULTIALLELIC`` (``vt normalize`` the line's pre-normalized
allele in ``OLD_VARIANT``). An ExAC-style multi-allelic file is written here, split
the way vt splits it (by this test, and by the real ``vt`` from Debian's package when
it is installed: ``make vcf-tools``), built, and every lookup compared with the counts
the test computes from its records; the split file's index must hold the very bytes
of the multi-allelic file's.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from nodes.build.builder import _build as _build_with
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup, read_raw, require_tool
from tests.vcf_factory import GroupCounts, SiteRecord, expected_site_counts, write_sites_vcf

POPULATIONS = ["AFR", "NFE", "M"]
VT_HEADER = (
    '##INFO=<ID=OLD_MULTIALLELIC,Number=1,Type=String,Description="Original chr:pos:ref:alt '
    'encoding">'
)


def _group(an: int, ac: list[int], hom: list[int]) -> GroupCounts:
    return GroupCounts(an=an, ac=ac, hom=hom)


def _records() -> list[SiteRecord]:
    """The issue's site (``1:13404 G/A/T``), a three-ALT indel site and biallelic ones."""
    rng = random.Random(15)
    out = []
    sites = [
        (13404, "G", ["A", "T"]),
        (13500, "GA", ["G", "GAA", "TA"]),
        (14000, "C", ["T"]),
        (14600, "T", ["C", "G", "A"]),
        (15200, "A", ["AT"]),
    ]
    for pos, ref, alts in sites:
        an = 2 * rng.randint(4000, 5000)
        groups = {}
        for label in ("", *POPULATIONS):
            g_an = an if not label else an // 4
            ac = [rng.randint(0, g_an // 10) for _ in alts]
            hom = [rng.randint(0, a // 3) for a in ac]
            groups[label] = _group(g_an, ac, hom)
        total = groups.pop("")
        out.append(SiteRecord("1", pos, ref, alts, total, groups))
    return out


def _write_multiallelic(tmp_path: Path) -> Path:
    return write_sites_vcf(
        tmp_path / "exac.vcf",
        _records(),
        POPULATIONS,
        style="exac",
        assembly="GRCh37",
        chr_prefix=False,
        contigs=["1"],
    )


def _vt_style(source: Path, out: Path, *, tag: bool = True) -> Path:
    """``vt decompose`` as vt writes it: one line per ALT, INFO as it was, the tag appended."""
    lines = []
    for line in source.read_text().splitlines():
        if line.startswith("#CHROM") and tag:
            lines.append(VT_HEADER)
        if line.startswith("#"):
            lines.append(line)
            continue
        cols = line.split("\t")
        alts = cols[4].split(",")
        if len(alts) == 1:
            lines.append(line)
            continue
        for alt in alts:
            info = cols[7] + (f";OLD_MULTIALLELIC={cols[0]}:{cols[1]}:{cols[3]}/" if tag else "")
            info += "/".join(alts) if tag else ""
            lines.append("\t".join([*cols[:4], alt, *cols[5:7], info]))
    out.write_text("\n".join(lines) + "\n")
    return out


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Right- then left-trimmed alleles (the key's form), written again here."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _build(path: Path, out: Path, **kwargs: object) -> Path:
    build_index(
        BuildOptions(inputs=[path], dataset_id="exac", out=out, assembly="GRCh37", **kwargs)  # type: ignore[arg-type]
    )
    return out


def _check_every_lookup(index: Path) -> None:
    for rec in _records():
        for alt, want in zip(rec.alts, expected_site_counts(rec, "GRCh37"), strict=True):
            pos, ref, alt_t = _trim(rec.pos, rec.ref, alt)
            got = counts_by_label(lookup(index, "1", pos, ref, alt_t))
            assert got == want, (rec.pos, alt)


def test_vt_decomposed_exac_file_reads_each_line_s_own_value(tmp_path):
    multi = _build(_write_multiallelic(tmp_path), tmp_path / "multi")
    split_vcf = _vt_style(_write_multiallelic(tmp_path), tmp_path / "decomposed.vcf")
    split = _build(split_vcf, tmp_path / "split")
    _check_every_lookup(split)
    # The same stored records as the multi-allelic file (nothing in a value knows the split).
    assert read_raw(split) == read_raw(multi)
    # pysam's reading (BCF, the reference path) agrees with the text reader's.
    options = BuildOptions(
        inputs=[split_vcf], dataset_id="exac", out=tmp_path / "pysam", assembly="GRCh37"
    )
    _build_with(options, fast_text=False)
    assert read_raw(tmp_path / "pysam") == read_raw(multi)
    convention = read_metadata(split).convention
    assert convention["allele_split"] == "vt"
    assert any("OLD_MULTIALLELIC" in r for r in convention["reasons"])


def test_a_split_record_without_the_tag_names_the_tag_it_needed(tmp_path):
    untagged = _vt_style(_write_multiallelic(tmp_path), tmp_path / "untagged.vcf", tag=False)
    with pytest.raises(IndexBuildError) as caught:
        _build(untagged, tmp_path / "index")
    message = caught.value.message
    assert "record 1:13404" in message
    assert "AC_Adj has 2 values but ALT has 1 allele" in message
    assert "needs OLD_MULTIALLELIC (or OLD_VARIANT from vt normalize)" in message
    # --on-error skip: the split records are skipped and counted, not silently miscounted.
    _build(untagged, tmp_path / "skipped", on_error="skip")
    assert read_metadata(tmp_path / "skipped").skipped["invalid"] == 2 + 3 + 3


def test_a_tag_that_does_not_list_the_line_s_allele_is_an_error(tmp_path):
    split = _vt_style(_write_multiallelic(tmp_path), tmp_path / "decomposed.vcf")
    text = split.read_text().replace(
        "OLD_MULTIALLELIC=1:13404:G/A/T", "OLD_MULTIALLELIC=1:13404:G/A/C"
    )
    split.write_text(text)
    with pytest.raises(
        IndexBuildError, match=r"record 1:13404: .*does not list this record's ALT T"
    ):
        _build(split, tmp_path / "index")


# ----------------------------------------------------------------------------- real vt


def _vt() -> str:
    return require_tool("vt", "Debian package vt; make vcf-tools installs it")


def _fasta(tmp_path: Path) -> Path:
    """Chromosome 1 up to past the last record, with every record's REF in place."""
    rng = random.Random(7)
    bases = [rng.choice("ACGT") for _ in range(16_000)]
    for rec in _records():
        for i, base in enumerate(rec.ref):
            bases[rec.pos - 1 + i] = base
    bases[13502 - 1] = "C"  # GA>G, GA>GAA at 13500 cannot shift left or right over it
    path = tmp_path / "ref.fa"
    path.write_text(">1\n" + "".join(bases) + "\n")
    pysam.faidx(str(path))
    return path


def test_real_vt_decompose_and_normalize_give_the_multiallelic_file_s_bytes(tmp_path):
    vt = _vt()
    source = _write_multiallelic(tmp_path)
    multi = _build(source, tmp_path / "multi")
    decomposed = tmp_path / "vt.decomposed.vcf"
    subprocess.run(
        [vt, "decompose", str(source), "-o", str(decomposed)], check=True, capture_output=True
    )
    # This test's vt style is vt's own (data lines byte for byte).
    ours = _vt_style(source, tmp_path / "ours.vcf")
    data = [line for line in decomposed.read_text().splitlines() if not line.startswith("#")]
    assert data == [line for line in ours.read_text().splitlines() if not line.startswith("#")]
    assert VT_HEADER in decomposed.read_text()
    assert read_raw(_build(decomposed, tmp_path / "decomposed")) == read_raw(multi)

    smart = tmp_path / "vt.smart.vcf"  # -s: arrays split too (one value per line)
    subprocess.run(
        [vt, "decompose", "-s", str(source), "-o", str(smart)], check=True, capture_output=True
    )
    assert read_raw(_build(smart, tmp_path / "smart")) == read_raw(multi)

    normalized = tmp_path / "vt.normalized.vcf"
    subprocess.run(
        [vt, "normalize", str(decomposed), "-r", str(_fasta(tmp_path)), "-o", str(normalized)],
        check=True,
        capture_output=True,
    )
    text = normalized.read_text()
    assert "OLD_VARIANT=1:13500:GA/GAA" in text  # vt moved this allele: the tag says from where
    index = _build(normalized, tmp_path / "normalized")
    _check_every_lookup(index)
    assert read_raw(index) == read_raw(multi)
