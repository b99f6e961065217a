"""Headers that lie: each a clear error naming the record (or header line), field and finding.

Or a documented tolerance (README, "Conventions the builder understands"): a group whose
AC or AN is ``.`` in a record is absent from that record; a ``Flag`` that no count
reads may carry a value. Never a crash, never a silent wrong count. Each file is
built twice, by the text reader and by pysam (the reference path), where both apply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions
from nodes.build.builder import _build as build_with
from tests.nodes.helpers import counts_by_label, lookup, read_raw

HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=1,length=248956422>",
    '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
    '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
    '##INFO=<ID=nhomalt,Number=A,Type=Integer,Description="Homozygous">',
    '##INFO=<ID=AC_afr,Number=A,Type=Integer,Description="Allele count afr">',
    '##INFO=<ID=AN_afr,Number=1,Type=Integer,Description="Allele number afr">',
    '##INFO=<ID=nhomalt_afr,Number=A,Type=Integer,Description="Homozygous afr">',
    '##INFO=<ID=DB,Number=0,Type=Flag,Description="dbSNP membership">',
]
GOOD = "1\t100\t.\tA\tC\t.\tPASS\tAC=5;AN=100;nhomalt=1;AC_afr=2;AN_afr=40;nhomalt_afr=0"


def _file(tmp_path: Path, line: str, header: list[str] = HEADER) -> Path:
    path = tmp_path / "lying.vcf"
    body = [*header, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO", GOOD, line]
    path.write_text("\n".join(body) + "\n")
    return path


def _outcomes(tmp_path: Path, vcf: Path, name: str = "index") -> list[str | dict[bytes, bytes]]:
    """The error message (or the stored records) of the text reader and of pysam."""
    outcomes: list[str | dict[bytes, bytes]] = []
    for fast in (True, False):
        out = tmp_path / f"{name}-{fast}"
        try:
            build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=out), fast_text=fast)
        except IndexBuildError as exc:
            outcomes.append(exc.message)
        else:
            outcomes.append(read_raw(out))
    return outcomes


@pytest.mark.parametrize(
    ("info", "problem"),
    [
        # Number=1 with several values.
        ("AC=3;AN=100,98;nhomalt=0", "AN is declared Number=1 but has 2 values (100,98)"),
        ("AC=3;AN=100;AC_afr=1;AN_afr=40,38", "AN_afr is declared Number=1 but has 2 values"),
        # Number=A with one value too many (a Number=R array, or a vt split without its tag).
        ("AC=3,1;AN=100;nhomalt=0,0", "AC has 2 values but ALT has 1 allele; a record split by vt"),
        # A "." among the values of a count.
        ("AC=3;AN=100;nhomalt=.", "nhomalt has a missing or negative value ."),
        ("AC=.;AN=100", "AC is missing ('.' or not given): no total count"),
    ],
)
def test_lies_in_records_name_record_field_and_value_on_both_paths(tmp_path, info, problem):
    vcf = _file(tmp_path, f"1\t200\t.\tA\tG\t.\tPASS\t{info}")
    fast, pysam_path = _outcomes(tmp_path, vcf)
    assert isinstance(fast, str), "built instead of refused"
    assert f"{vcf}: record 1:200: {problem}" in fast
    assert fast == pysam_path


@pytest.mark.parametrize(
    ("info", "shown"),
    [
        ("AC=1.5;AN=100;nhomalt=0", "AC is declared Type=Integer but holds 1.5"),
        ("AC=3;AN=100;nhomalt=0.5", "nhomalt is declared Type=Integer but holds 0.5"),
        ("AC=3;AN=1e2;nhomalt=0", "AN is declared Type=Integer but holds 1e2"),
        ("AC=3;AN=100;AC_afr=2,1.0;AN_afr=40", "AC_afr is declared Type=Integer but holds 2,1.0"),
    ],
)
def test_a_fraction_in_an_integer_count_is_an_error_not_truncated(tmp_path, info, shown):
    """htslib truncates ``1.5`` to 1 without a word: the text is checked before it reads it."""
    alts = "G,T" if "2,1.0" in info else "G"
    vcf = _file(tmp_path, f"1\t200\t.\tA\t{alts}\t.\tPASS\t{info}")
    with pytest.raises(IndexBuildError) as caught:
        build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=tmp_path / "i"), fast_text=True)
    assert f"record 1:200: {shown}" in caught.value.message
    # Also when the line needs pysam for another reason (a repeated key).
    vcf = _file(tmp_path, f"1\t200\t.\tA\t{alts}\t.\tPASS\t{info};DB;DB")
    with pytest.raises(IndexBuildError, match=f"record 1:200: {shown}"):
        build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=tmp_path / "j"), fast_text=True)


def test_a_count_declared_flag_or_float_is_refused_naming_the_header_line(tmp_path):
    flag = [
        h.replace("ID=nhomalt,Number=A,Type=Integer", "ID=nhomalt,Number=0,Type=Flag")
        for h in HEADER
    ]
    vcf = _file(tmp_path, "1\t200\t.\tA\tG\t.\tPASS\tAC=3;AN=100;nhomalt=1", flag)
    for message in _outcomes(tmp_path, vcf):
        assert isinstance(message, str)
        assert (
            "##INFO=<ID=nhomalt,Number=0,Type=Flag>: the homozygous count of group total" in message
        )
        assert "must be Type=Integer, not Flag" in message
    floats = [
        h.replace("ID=AC_afr,Number=A,Type=Integer", "ID=AC_afr,Number=A,Type=Float")
        for h in HEADER
    ]
    vcf = _file(tmp_path, "1\t200\t.\tA\tG\t.\tPASS\tAC=3;AN=100", floats)
    with pytest.raises(
        IndexBuildError, match=r"ID=AC_afr,Number=A,Type=Float>: the allele count of group AFR"
    ):
        build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=tmp_path / "i"), fast_text=True)
    per_allele_an = [h.replace("ID=AN,Number=1", "ID=AN,Number=A") for h in HEADER]
    vcf = _file(tmp_path, "1\t200\t.\tA\tG\t.\tPASS\tAC=3;AN=100", per_allele_an)
    with pytest.raises(
        IndexBuildError, match=r"the allele number of group total cannot be Number=A"
    ):
        build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=tmp_path / "j"), fast_text=True)


def test_documented_tolerances_dot_for_a_group_and_a_flag_with_a_value(tmp_path):
    # AC_afr=. (and AN_afr=.): afr is unknown at this record, so absent, not 0; a value on
    # the DB flag (no count reads it) changes nothing.
    line = "1\t200\t.\tA\tG\t.\tPASS\tAC=3;AN=100;nhomalt=1;AC_afr=.;AN_afr=.;DB=1"
    vcf = _file(tmp_path, line)
    fast, pysam_path = _outcomes(tmp_path, vcf)
    assert isinstance(fast, dict)
    assert fast == pysam_path
    rows = counts_by_label(lookup(tmp_path / "index-True", "1", 200, "A", "G"))
    assert rows == {"": (3, 100, 1, 1, None)}
    vcf = _file(tmp_path, "1\t200\t.\tA\tG\t.\tPASS\tAC=3;AN=100;nhomalt=1;AC_afr=.;AN_afr=40")
    fast, pysam_path = _outcomes(tmp_path, vcf, "dot-ac")
    assert isinstance(fast, dict)
    assert fast == pysam_path
    assert counts_by_label(lookup(tmp_path / "dot-ac-True", "1", 200, "A", "G")) == {
        "": (3, 100, 1, 1, None)
    }
