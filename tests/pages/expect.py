"""What a page should show, computed from the records (not from the API), and page readers."""

from __future__ import annotations

from tests.pages.mesh_data import DatasetSpec, VariantTuple
from tests.vcf_factory import Counts

#: What a page shows for a count the dataset did not give.
UNKNOWN = "—"
#: What a value of each precision starts with (``lower``: a pool with a withheld part).
MARKS = {"exact": "", "rounded": "≈", "lower": "≥"}
#: Columns of a count row, in page order after the label cells.
COUNT_COLUMNS = ("AC", "AN", "AF", "Hom", "Het", "Hemi")


def label(variant: VariantTuple) -> str:
    """gnomAD notation, as the page writes a variant."""
    return "-".join(str(part) for part in variant)


def count_texts(counts: Counts, precision: str) -> list[str]:
    """The six cells of a row (AF as the exact fraction; compared numerically)."""
    if precision == "suppressed":
        return ["suppressed"] * 6
    ac, an, hom, het, hemi = counts
    mark = MARKS[precision]

    def cell(value: int | None) -> str:
        return UNKNOWN if value is None else f"{mark}{value:,}"  # unknown: not 0

    af = f"{mark}{ac / an!r}" if ac is not None and an else UNKNOWN
    return [cell(ac), cell(an), af, cell(hom), cell(het), cell(hemi)]


def rows_for(
    specs: list[DatasetSpec], variant: VariantTuple, group: str = ""
) -> dict[str, tuple[Counts, str]]:
    """dataset id -> (released counts, precision) of ``variant`` in ``group`` (``""``: total)."""
    rows = {}
    for spec in specs:
        if spec.assembly != "GRCh38":
            continue
        released, raw = spec.expected(), spec.raw()
        if variant in released and group in released[variant]:
            rows[spec.id] = (released[variant][group], spec.precision(raw[variant][group]))
    return rows


def pooled(rows: list[tuple[Counts, str]]) -> tuple[Counts, str]:
    """Sum of the released rows: ``lower`` (a bound) when a part is withheld and another
    released, ``rounded`` when a part is rounded, ``suppressed`` when every part is."""
    total: list[int | None] = [0, 0, 0, 0, 0]
    released = [(c, p) for c, p in rows if p != "suppressed"]
    for counts, _ in released:
        total = [
            None if a is None or b is None else a + b for a, b in zip(total, counts, strict=True)
        ]
    if not released:
        precision = "suppressed"
    elif len(released) < len(rows):
        precision = "lower"
    elif any(p == "rounded" for _, p in released):
        precision = "rounded"
    else:
        precision = "exact"
    return (total[0], total[1], total[2], total[3], total[4]), precision


def assert_cells(texts: list[str], expected: list[str]) -> None:
    """Cells equal, AF compared as a number to 3 significant digits."""
    assert len(texts) == len(expected), (texts, expected)
    for column, got, want in zip(COUNT_COLUMNS, texts, expected, strict=True):
        if column == "AF" and want not in ("suppressed", UNKNOWN):
            assert got[:1] == want[:1] if want[:1] in "≈≥" else got[:1] not in "≈≥", (got, want)
            value, exact = float(got.lstrip("≈≥")), float(want.lstrip("≈≥"))
            assert value == _three_digits(exact), (column, got, want)
        else:
            assert got == want, (column, got, want)


def _three_digits(value: float) -> float:
    return float(f"{value:.2e}") if 0 < value < 1e-4 else float(f"{value:.3g}")
