"""Errors next to the search box, the start page, and a narrow screen, in a real Chromium."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.pages.conftest import expect, screenshot
from tests.pages.mesh_data import RunningMesh


def problem_detail(mesh: RunningMesh, path: str) -> str:
    """The API's own words for a bad query, fetched without the page."""
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(mesh.url + path, timeout=10)
    assert failed.value.code == 400
    return json.loads(failed.value.read())["detail"]


def test_a_bad_query_is_explained_next_to_the_search_box(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    box = page.get_by_label("Variant or region")
    error = page.locator("#q-error")
    assert error.get_attribute("aria-live") == "assertive"

    box.press("Enter")  # nothing typed
    expect(error).to_contain_text("Enter a variant")

    bad = "1-55051215-G-QQ"
    box.fill(bad)
    box.press("Enter")
    detail = problem_detail(mesh, f"/v1/variants/{bad}")
    expect(error).to_have_text(detail)
    expect(box).to_have_attribute("aria-invalid", "true")
    assert "variant" in page.locator("[data-problem]").inner_text()
    screenshot(page, "error-variant")

    region = "1:55060090-55060000"
    box.fill(region)
    box.press("Enter")
    expect(error).to_have_text(problem_detail(mesh, f"/v1/regions/{urllib.parse.quote(region)}"))

    box.fill("1-55051215-G-GA")
    box.press("Enter")  # a good query clears the message
    page.locator("table.frequencies").wait_for()
    expect(error).to_be_empty()
    expect(box).to_have_attribute("aria-invalid", "false")


def test_start_page_examples_and_keyboard(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("How common is a variant")
    assert "allelemesh — allele frequencies across the mesh" in page.locator("header").inner_text()
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.locator(".skip-link")).to_be_focused()
    screenshot(page, "start")
    page.get_by_role("link", name="1:55051000-55052000").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Region")
    expect(page.get_by_label("Variant or region")).to_have_value("1:55051000-55052000")


def test_narrow_screen_scrolls_tables_not_the_page(page, mesh: RunningMesh):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{mesh.url}/?q=1-55051215-G-GA&assembly=GRCh38")
    page.locator("table.frequencies").wait_for()
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth,"
        " document.querySelector('.table-scroll').scrollWidth,"
        " document.querySelector('.table-scroll').clientWidth]"
    )
    page_width, viewport, table_width, box_width = widths
    assert page_width <= viewport  # no sideways scrolling of the page itself
    assert table_width > box_width  # the wide table scrolls inside its box
    screenshot(page, "variant-narrow")
