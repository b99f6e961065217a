"""``allelemesh query`` with mistyped variants: the specific problem, or both notation lists.

The CLI's entry point itself (``mesh.cli.main``), with its exit code and stderr; no server
is needed because every one of these is refused before a call is made.
"""

from __future__ import annotations

import pytest

from mesh.cli import main

VARIANTS = (
    "1-55051215-G-GA (gnomAD), chr1:55051215:G:GA, 1:55051215 G>GA or 1:55051215:G>GA, "
    "NC_000001.11:55051214:G:GA (SPDI, 0-based position), "
    "NC_000001.11:g.55051215G>A (HGVS genomic substitution), "
    "NC_000001.11:g.55051215del, ...g.55051215_55051216insTTA, ...g.55051215dup, "
    "...g.55051215_55051217delinsAT (HGVS genomic indels, ranges too; need a reference FASTA)"
)
REGIONS = (
    "1:55051000-55052000, chr1:55,051,000-55,052,000, 1-55051000-55052000 (1-based, inclusive)"
)
LISTS = f"; variant notations: {VARIANTS}; region notations: {REGIONS}"
NEITHER = "as a variant or a region"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BRCA1?", f"cannot read 'BRCA1?' {NEITHER}{LISTS}"),
        ("chr1:abc", f"cannot read 'chr1:abc' {NEITHER}{LISTS}"),
        ("1:55051215", "'1:55051215' is a position without alleles: give the bases "
                       f"(1:55051215 G>GA) or a range (1:55051215-55051215){LISTS}"),
        ("1-55051215-G-GX", "alternate bases 'GX' contain 'X' at offset 1; only the bases A, C, "
                            "G, T and N are allowed (in '1-55051215-G-GX')"),
        ("1-300000000-G-A", "position 300000000 is beyond the end of chromosome 1 (248956422 bp "
                            "in GRCh38) (in '1-300000000-G-A')"),
        ("chr23:100-200", "unknown chromosome 'chr23' (23 is PLINK's code for chromosome X, "
                          "accepted bare, never chr-prefixed); expected 1..22, X, Y, MT (or chr1, "
                          "chrX, chrM, 23, 24, or a RefSeq NC_ accession) (in 'chr23:100-200')"),
    ],
)  # fmt: skip
def test_each_mistake_says_what_is_wrong(
    text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Port 9 (discard) is never reached: the input is refused first.
    code = main(["query", text, "--target", "127.0.0.1:9", "--insecure"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip().splitlines()[-1] == f"allelemesh: error: {message}"
    assert "cannot read" not in message or "as a region;" not in captured.err
    assert captured.out == ""
