"""The gene view in a real Chromium: the gene's span, every variant in it, per-country and
pooled AF (rounded, lower-bound and suppressed parts marked), sortable, paged.

The browser mesh's GRCh38 variants on chromosome 1 lie in PCSK9; the expected numbers
come from the records (tests.pages.expect) and the span from the shipped table read
with csv (tests.gene_world), never from the API.
"""

from __future__ import annotations

from tests.gene_world import table_span
from tests.pages.conftest import expect, screenshot
from tests.pages.expect import MARKS, _three_digits, label, pooled, rows_for
from tests.pages.mesh_data import DEAD_NODE, RunningMesh

PAGE_SIZE = 25


def expected_gene(mesh: RunningMesh) -> dict[str, dict[str, tuple]]:
    """Variant label -> {country or "pooled": (counts, precision)}, in genomic order."""
    chrom, start, end = table_span("PCSK9")
    variants = set()
    for spec in mesh.specs:
        if spec.assembly == "GRCh38":
            variants |= {v for v in spec.expected() if v[0] == chrom and start <= v[1] <= end}
    country_of = {s.id: s.country for s in mesh.specs}
    out = {}
    for variant in sorted(variants, key=lambda v: (v[1], v[2], v[3])):
        rows = rows_for(mesh.specs, variant)
        cells = {"pooled": pooled(list(rows.values()))}
        for cc in sorted({country_of[d] for d in rows}):
            cells[cc] = pooled([r for d, r in rows.items() if country_of[d] == cc])
        out[label(variant)] = cells
    return out


def af_matches(text: str, expected: tuple) -> bool:
    (ac, an, *_), precision = expected
    if precision == "suppressed":
        return text == "suppressed"
    if ac is None or not an:
        return text == "—"
    mark = MARKS[precision]
    if (text[:1] in "≈≥") != bool(mark) or not text.startswith(mark):
        return False
    return float(text.lstrip("≈≥")) == _three_digits(ac / an)


def read_rows(page) -> list[dict[str, str]]:
    out = []
    for row in page.locator("table.gene tbody tr").all():
        cells = {"variant": row.get_attribute("data-variant") or ""}
        cells["pooled"] = row.locator('[data-col="af"]').inner_text()
        for cell in row.locator("[data-country]").all():
            cells[cell.get_attribute("data-country") or ""] = cell.inner_text()
        out.append(cells)
    return out


def test_a_gene_from_the_search_box_shows_its_span_and_every_variant(page, mesh: RunningMesh):
    expected = expected_gene(mesh)
    assert len(expected) > PAGE_SIZE  # more than one page
    assert any(c["pooled"][1] == "lower" for c in expected.values())  # a withheld part
    page.goto(f"{mesh.url}/")
    page.fill("#q", "pcsk9")
    page.locator("#search button[type=submit]").click()
    expect(page.locator("h1 [data-gene]")).to_have_text("PCSK9")
    chrom, start, end = table_span("PCSK9")
    span = f"{chrom}:{start:,}-{end:,}"
    assert page.locator("[data-span]").get_attribute("data-span") == span
    seen: list[dict[str, str]] = []
    pages = []
    next_button = page.locator('[data-page="next"]').first
    for number in range(1, 10):
        expect(page.locator(".pager .where").first).to_have_text(f"Page {number}")
        rows = read_rows(page)
        pages.append([r["variant"] for r in rows])
        seen.extend(rows)
        if number == 1:
            screenshot(page, "gene-page-1")
        if next_button.is_disabled():
            break
        next_button.click()
    assert [r["variant"] for r in seen] == list(expected)
    countries = {cc for cells in expected.values() for cc in cells if cc != "pooled"}
    for row in seen:
        want = expected[row["variant"]]
        assert af_matches(row["pooled"], want["pooled"]), (row, want["pooled"])
        for cc in countries:
            if cc in want:
                assert af_matches(row[cc], want[cc]), (row, cc, want[cc])
            else:
                assert row.get(cc, "") == "", (row, cc)  # the country does not hold it
    # The dead peer is named among the outcomes, not mistaken for "no variant".
    expect(page.locator("table.outcomes")).to_contain_text(DEAD_NODE)
    # Previous steps back along the token chain.
    page.locator('[data-page="previous"]').first.click()
    expect(page.locator(".pager .where").first).to_have_text(f"Page {len(pages) - 1}")
    assert [r["variant"] for r in read_rows(page)] == pages[-2]


def _af_value(text: str) -> float | None:
    stripped = text.lstrip("≈≥")
    try:
        return float(stripped)
    except ValueError:
        return None  # suppressed, unknown: sorted last


def test_the_gene_table_sorts_by_pooled_af_and_by_country(page, mesh: RunningMesh):
    page.goto(f"{mesh.url}/?q=PCSK9&assembly=GRCh38&page_size=100")
    expect(page.locator("h1 [data-gene]")).to_have_text("PCSK9")
    in_order = [r["variant"] for r in read_rows(page)]
    header = page.locator('th[data-sort="af"]')
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    values = [_af_value(r["pooled"]) for r in read_rows(page)]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=True)
    assert values[: len(known)] == known  # unknown and suppressed last
    header.locator("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    known = [v for v in (_af_value(r["pooled"]) for r in read_rows(page)) if v is not None]
    assert known == sorted(known)
    no = page.locator('th[data-sort="af-NO"]')
    no.locator("button").click()
    expect(no).to_have_attribute("aria-sort", "descending")
    by_no = [_af_value(r.get("NO", "")) for r in read_rows(page)]
    known = [v for v in by_no if v is not None]
    assert known == sorted(known, reverse=True)
    position = page.locator('th[data-sort="position"]')
    position.locator("button").click()
    expect(position).to_have_attribute("aria-sort", "ascending")
    assert [r["variant"] for r in read_rows(page)] == in_order


def test_an_alias_shows_the_resolution_and_an_unknown_gene_the_closest(page, mesh: RunningMesh):
    page.goto(f"{mesh.url}/?q=NARC1&assembly=GRCh38")
    expect(page.locator("h1 [data-gene]")).to_have_text("PCSK9")
    note = page.locator('[data-resolution="previous symbol or alias"]')
    expect(note).to_contain_text("NARC1")
    expect(note).to_contain_text("NARC1 is a previous symbol or alias of PCSK9")
    page.goto(f"{mesh.url}/?q=PCKS9&assembly=GRCh38")
    expect(page.locator("[data-problem]")).to_have_attribute("data-problem", "400")
    expect(page.locator("#q-error")).to_contain_text("closest symbols: PCSK9")
    page.goto(f"{mesh.url}/?q=PCSK9&assembly=GRCh37")
    expect(page.locator("#q-error")).to_contain_text("PCSK9")
    expect(page.locator("#q-error")).to_contain_text("GRCh37")
