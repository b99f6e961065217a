"""HGVS genomic indels against ``bcftools norm -f`` on a FASTA this test writes.

Each description is also written by hand as a VCF record (an equivalent placement,
e.g. a duplication as an insertion *before* the stretch), which bcftools left-aligns;
the key the parser gives must be the one bcftools gives.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from mesh.errors import InvalidArgumentError
from mesh.model.genome import Assembly
from mesh.model.notation import parse_variant
from mesh.model.reference import FastaReference
from mesh.model.variants import VariantKey

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="needs bcftools")

GRCH38 = Assembly.GRCH38
ACC = "NC_000001.11"


def _sequence() -> str:
    rng = random.Random(14)
    bases = [rng.choice("ACGT") for _ in range(600)]
    # Repeats that make HGVS's 3' placement differ from VCF's leftmost one.
    for start, motif in ((101, "CAGCAGCAGCAG"), (201, "TTTTTTTT"), (301, "ATATAT")):
        bases[start - 1 : start - 1 + len(motif)] = motif
    return "".join(bases)


SEQ = _sequence()


def base(pos: int) -> str:
    """1-based base of SEQ."""
    return SEQ[pos - 1]


def stretch(first: int, last: int) -> str:
    return SEQ[first - 1 : last]


def by_hand(kind: str, first: int, last: int, bases: str) -> tuple[int, str, str]:
    """The event as a VCF record, written without allelemesh code."""
    if kind == "del":
        return first - 1, base(first - 1) + stretch(first, last), base(first - 1)
    if kind == "dup":  # the copy placed before the stretch: the same sequence results
        return first - 1, base(first - 1), base(first - 1) + stretch(first, last)
    if kind == "ins":
        return first, base(first), base(first) + bases
    return first, stretch(first, last), bases  # delins


def _delins_alt(first: int, last: int) -> str:
    """Two bases sharing neither end with the replaced stretch (nothing to trim)."""
    head = next(b for b in "ACGT" if b != base(first))
    tail = next(b for b in "ACGT" if b != base(last))
    return head + tail


CASES = [
    ("del", 112, 112, ""),  # one CAG base, 3' end of the repeat
    ("del", 110, 112, ""),  # one CAG unit, as HGVS places it (3'-most)
    ("del", 110, 112, "CAG"),  # stated deleted bases
    ("del", 208, 208, ""),  # one T of the homopolymer
    ("del", 205, 208, ""),
    ("dup", 208, 208, ""),
    ("dup", 110, 112, ""),  # a range duplicated
    ("ins", 306, 307, "AT"),  # another AT unit after the ATATAT repeat
    ("ins", 400, 401, "GGTCA"),
    ("delins", 450, 452, _delins_alt(450, 452)),
    ("delins", 460, 460, _delins_alt(460, 460) + "T"),
]


def hgvs(kind: str, first: int, last: int, bases: str) -> str:
    where = f"{first}" if first == last else f"{first}_{last}"
    return f"{ACC}:g.{where}{kind}{bases}"


@pytest.fixture(scope="module")
def fasta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hgvs") / "ref.fa"
    lines = [SEQ[i : i + 60] for i in range(0, len(SEQ), 60)]
    path.write_text(">chr1\n" + "\n".join(lines) + "\n")
    pysam.faidx(str(path))
    return path


@pytest.fixture(scope="module")
def bcftools_expected(fasta: Path) -> dict[str, VariantKey]:
    """HGVS text -> the key of its hand-written VCF record after ``bcftools norm -f``."""
    vcf = fasta.parent / "hand.vcf"
    rows = []
    for i, case in enumerate(CASES):
        pos, ref, alt = by_hand(*case)
        rows.append(f"chr1\t{pos}\tcase{i}\t{ref}\t{alt}\t.\t.\t.")
    header = f"##fileformat=VCFv4.2\n##contig=<ID=chr1,length={len(SEQ)}>\n"
    header += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    # bcftools needs sorted input; rows are written in CASES order, so sort by position.
    vcf.write_text(header + "\n".join(sorted(rows, key=lambda r: int(r.split("\t")[1]))) + "\n")
    out = subprocess.run(
        ["bcftools", "norm", "-f", str(fasta), "-c", "e", str(vcf)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    expected = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        _chrom, pos, name, ref, alt = line.split("\t")[:5]
        case = CASES[int(name.removeprefix("case"))]
        expected[hgvs(*case)] = VariantKey("1", int(pos), ref, alt)
    assert len(expected) == len(CASES)
    return expected


@pytest.mark.parametrize("case", CASES, ids=lambda c: hgvs(*c).split(":", 1)[1])
def test_indel_matches_bcftools_norm(
    case: tuple[str, int, int, str], fasta: Path, bcftools_expected: dict[str, VariantKey]
) -> None:
    text = hgvs(*case)
    with FastaReference(fasta, GRCH38) as reference:
        assert parse_variant(text, GRCH38, reference=reference) == bcftools_expected[text]


def test_shifted_cases_really_shift(bcftools_expected: dict[str, VariantKey]) -> None:
    """The repeats make bcftools move the HGVS placement (else the test shows little)."""
    moved = [t for t, k in bcftools_expected.items() if k.position < int(t.split(".")[2][:3]) - 1]
    assert len(moved) >= 5


def test_deletion_of_the_first_base_anchors_right(fasta: Path) -> None:
    with FastaReference(fasta, GRCH38) as reference:
        key = parse_variant(f"{ACC}:g.1del", GRCH38, reference=reference)
    assert key == VariantKey("1", 1, SEQ[0:2], SEQ[1])


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        (f"{ACC}:g.110_112delCAA", "REFERENCE_MISMATCH", ["CAA", "CAG"]),
        (f"{ACC}:g.208dupA", "REFERENCE_MISMATCH", ["T"]),
        (f"{ACC}:g.599_605del", "POSITION_OUT_OF_RANGE", ["past the reference"]),
        (f"{ACC}:g.306_307insAXT", "INVALID_BASES", ["X"]),
        ("NC_000002.12:g.100del", "POSITION_OUT_OF_RANGE", ["chromosome 2"]),
    ],
)
def test_bad_indels_name_the_problem(fasta: Path, text: str, reason: str, words: list[str]) -> None:
    with FastaReference(fasta, GRCH38) as reference, pytest.raises(InvalidArgumentError) as caught:
        parse_variant(text, GRCH38, reference=reference, field="q")
    assert (caught.value.field, caught.value.reason) == ("q", reason)
    for word in words:
        assert word in caught.value.message
