"""The region view in a real Chromium: pages of whole variants, each variant once, in order."""

from __future__ import annotations

from tests.pages.conftest import expect, screenshot
from tests.pages.expect import MARKS, label, pooled, rows_for
from tests.pages.mesh_data import REGION, REGION_SITES, REGION_START, RunningMesh

PAGE_SIZE = 8


def expected_region(mesh: RunningMesh) -> dict[str, tuple]:
    """Variant label -> (pooled counts, precision), in genomic order, from the records."""
    variants = set()
    for spec in mesh.specs:
        if spec.assembly == "GRCh38":
            variants |= {v for v in spec.expected() if v[0] == "1" and v[1] >= REGION_START}
    ordered = sorted(variants, key=lambda v: v[1])
    return {label(v): pooled(list(rows_for(mesh.specs, v).values())) for v in ordered}


def read_page(page) -> list[tuple[str, str]]:
    rows = page.locator("table.region tbody tr")
    return [
        (row.get_attribute("data-variant"), row.locator('[data-col="af"]').inner_text())
        for row in rows.all()
    ]


def test_paging_a_region_shows_every_variant_once(page, mesh: RunningMesh):
    expected = expected_region(mesh)
    assert REGION_SITES - 5 < len(expected) <= REGION_SITES
    page.goto(f"{mesh.url}/?q={REGION}&assembly=GRCh38&page_size={PAGE_SIZE}")
    next_button = page.locator('[data-page="next"]').first
    seen: list[tuple[str, str]] = []
    pages = []
    for number in range(1, 20):
        expect(page.locator(".pager .where").first).to_contain_text(f"Page {number} ")
        rows = read_page(page)
        pages.append([v for v, _ in rows])
        seen.extend(rows)
        screenshot(page, f"region-page-{number}") if number <= 2 else None
        if next_button.is_disabled():
            break
        next_button.click()
    # Whole pages of PAGE_SIZE variants (the last may be short), each variant once, in order.
    assert all(len(p) == PAGE_SIZE for p in pages[:-1])
    assert [v for v, _ in seen] == list(expected)
    for variant, af_text in seen:
        (ac, an, *_), precision = expected[variant]
        mark = MARKS[precision]  # "≈" rounded, "≥" a lower bound (a part withheld)
        assert (af_text[:1] in "≈≥") == bool(mark), (variant, af_text, precision)
        assert af_text.startswith(mark), (variant, af_text, precision)
        assert float(af_text.lstrip("≈≥")) == float(f"{ac / an:.3g}"), variant

    # Previous goes back along the token chain, to the page before.
    page.locator('[data-page="previous"]').first.click()
    expect(page.locator(".pager .where").first).to_contain_text(f"Page {len(pages) - 1} ")
    assert [v for v, _ in read_page(page)] == pages[-2]

    # Each variant links to its variant view.
    first = pages[-2][0]
    page.get_by_role("link", name=first).click()
    expect(page.locator("h1 [data-variant]")).to_have_text(first)


def test_a_page_link_is_shareable(page, mesh: RunningMesh):
    page.goto(f"{mesh.url}/?q={REGION}&assembly=GRCh38&page_size={PAGE_SIZE}")
    page.locator('[data-page="next"]').first.click()
    expect(page.locator(".pager .where").first).to_contain_text("Page 2 ")
    second = [v for v, _ in read_page(page)]
    fresh = page.context.new_page()
    try:
        fresh.goto(page.url)  # a new tab with the same address: the same page
        expect(fresh.locator(".pager .where").first).to_contain_text("Page 2 ")
        assert [v for v, _ in read_page(fresh)] == second
    finally:
        fresh.close()
