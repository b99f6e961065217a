"""The variant view in a real Chromium: numbers read off the page equal the records'."""

from __future__ import annotations

import re

from tests.pages.conftest import expect, screenshot, screenshot_for_docs
from tests.pages.expect import assert_cells, count_texts, label, pooled, rows_for
from tests.pages.mesh_data import DEAD_NODE, SNV, VARIANT, X_VARIANT, RunningMesh


def open_variant(page, mesh: RunningMesh, variant: str, assembly: str = "GRCh38") -> None:
    page.goto(f"{mesh.url}/?q={variant}&assembly={assembly}")
    page.locator("table.outcomes").wait_for()


def row_cells(row) -> list[str]:
    """The six count cells of a table row (after its two label cells)."""
    return [t.strip() for t in row.locator("td.num").all_inner_texts()]


def test_search_box_shows_every_dataset_with_the_recorded_counts(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    page.get_by_label("Variant or region").fill(label(VARIANT))
    page.get_by_label("Variant or region").press("Enter")
    page.locator("table.frequencies").wait_for()
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # focus moves to the result
    assert "q=1-55051215-G-GA" in page.url  # linkable
    assert page.locator("h1 [data-variant]").inner_text() == label(VARIANT)

    expected = rows_for(mesh.specs, VARIANT)
    assert set(expected) == {"no-gdi", "no-biobank", "fi-gdi", "lu-gdi"}
    shown = page.locator("tbody.dataset").evaluate_all("els => els.map(e => e.dataset.dataset)")
    assert sorted(shown) == sorted(expected)
    for dataset_id, (counts, precision) in expected.items():
        row = page.locator(f'tbody[data-dataset="{dataset_id}"] tr.dataset-row')
        assert_cells(row_cells(row), count_texts(counts, precision))
    # LU rounds to 10: shown as "≈40", never as "40".
    lu = row_cells(page.locator('tbody[data-dataset="lu-gdi"] tr.dataset-row'))
    assert lu[0] == "≈40"

    total, precision = pooled(list(expected.values()))
    assert precision == "rounded"
    assert_cells(row_cells(page.locator("tr.pooled")), count_texts(total, precision))
    assert page.locator("[data-pooled] .af dd").inner_text().startswith("≈")

    # One bar per country, with a text alternative carrying the same numbers.
    chart = page.get_by_role("img", name=re.compile("Allele frequency per country"))
    description = chart.locator("desc").text_content()
    fi_counts, _ = expected["fi-gdi"]
    assert f"FI: {fi_counts[0] / fi_counts[1]:.3g}" in description
    assert "LU: ≈" in description
    assert chart.locator("rect.bar").count() == 3
    screenshot(page, "variant")
    screenshot_for_docs(page, "screenshot-variant.png")


def test_populations_expand_with_their_counts(page, mesh: RunningMesh):
    open_variant(page, mesh, label(SNV))
    toggle = page.get_by_role("button", name=re.compile("^no-gdi"))
    assert toggle.get_attribute("aria-expanded") == "false"
    population_rows = page.locator('tbody[data-dataset="no-gdi"] tr.population')
    assert population_rows.count() == 3
    assert not population_rows.first.is_visible()

    toggle.focus()
    page.keyboard.press("Enter")  # keyboard use, not only the mouse
    assert toggle.get_attribute("aria-expanded") == "true"
    for group in ("NO", "NO_M", "NO_F"):
        row = page.locator(f'tbody[data-dataset="no-gdi"] tr[data-population="{group}"]')
        assert row.is_visible()
        counts, precision = rows_for(mesh.specs, SNV, group)["no-gdi"]
        assert_cells(row_cells(row), count_texts(counts, precision))

    # LU's SNV has AC 4 (< 5): withheld, and every population row says so, in words.
    page.get_by_role("button", name=re.compile("^lu-gdi")).click()
    assert rows_for(mesh.specs, SNV)["lu-gdi"][1] == "suppressed"
    for row in page.locator('tbody[data-dataset="lu-gdi"] tr').all():
        assert set(row_cells(row)) == {"suppressed"}
    screenshot(page, "variant-populations")

    page.keyboard.press("Enter")  # still on the lu-gdi toggle: collapses again
    assert not page.locator('tbody[data-dataset="lu-gdi"] tr.population').first.is_visible()


def test_hemizygous_counts_on_x(page, mesh: RunningMesh):
    open_variant(page, mesh, label(X_VARIANT))
    page.get_by_role("button", name=re.compile("^no-gdi")).click()
    for group in ("", "NO_M", "NO_F"):
        counts, precision = rows_for(mesh.specs, X_VARIANT, group)["no-gdi"]
        selector = "tr.dataset-row" if not group else f'tr[data-population="{group}"]'
        row = page.locator(f'tbody[data-dataset="no-gdi"] {selector}')
        assert_cells(row_cells(row), count_texts(counts, precision))
    male = rows_for(mesh.specs, X_VARIANT, "NO_M")["no-gdi"][0]
    assert male[4] == male[0] > 0  # every male carrier is hemizygous


def test_other_notations_and_the_assembly_switch(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    box = page.get_by_label("Variant or region")
    box.fill("NC_000001.11:g.55051215G>A")  # HGVS genomic
    box.press("Enter")
    expect(page.locator("h1 [data-variant]")).to_have_text(label(SNV))
    box.fill("NC_000001.11:55051214:G:GA")  # SPDI, 0-based
    box.press("Enter")
    expect(page.locator("h1 [data-variant]")).to_have_text(label(VARIANT))

    # GRCh37: only the legacy panel holds this one.
    box.fill("1-55050215-C-T")
    page.get_by_text("GRCh37", exact=True).click()
    page.get_by_role("button", name="Search").click()
    expect(page.locator("h1 [data-variant]")).to_have_text("1-55050215-C-T")
    assert "assembly=GRCh37" in page.url
    expect(page.locator("tbody.dataset")).to_have_count(1)
    assert page.locator("tbody.dataset").get_attribute("data-dataset") == "fi-legacy"
    page.go_back()  # history works: back to the SPDI lookup on GRCh38
    expect(page.locator("h1 [data-variant]")).to_have_text(label(VARIANT))
    assert page.locator("#asm-38").is_checked()


def test_a_node_down_is_shown_as_such(page, mesh: RunningMesh):
    open_variant(page, mesh, label(VARIANT))
    outcomes = page.locator("table.outcomes")
    assert "3 of 4 nodes answered" in outcomes.locator("caption").inner_text()
    dead = outcomes.locator(f'tr[data-node="{DEAD_NODE}"]')
    assert dead.get_attribute("data-status") == "unavailable"
    assert "unavailable" in dead.inner_text()
    assert "UNAVAILABLE" in dead.locator(".status-message").inner_text()
    for node in ("no-oslo-1", "fi-hki-1", "lu-lux-1"):
        row = outcomes.locator(f'tr[data-node="{node}"]')
        assert row.get_attribute("data-status") == "answered"
        assert re.fullmatch(r"\d+\.\d ms", row.locator("td.num").first.inner_text())
    screenshot(page, "variant-node-down")


def test_the_trace_id_the_gateway_sends_is_shown(page, mesh: RunningMesh):
    with page.expect_response(lambda r: "/v1/variants/" in r.url) as answer:
        page.goto(f"{mesh.url}/?q={label(VARIANT)}&assembly=GRCh38")
    page.locator("table.outcomes").wait_for()
    sent = answer.value.headers.get("x-trace-id")
    shown = page.locator("[data-trace-id]")
    if sent:
        assert shown.inner_text() == sent
    else:  # a gateway without tracing sends none, and the page shows none
        assert shown.count() == 0

    def other_trace_id(route):
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "x-trace-id": "4bf92f35"})

    page.route("**/v1/variants/**", other_trace_id)
    open_variant(page, mesh, label(SNV))
    assert page.locator("[data-trace-id]").inner_text() == "4bf92f35"
