"""The results region is never left ``aria-busy`` after an error, in a real Chromium.

Screen readers wait for a busy region to settle: one left busy after a failed request
hides the explanation of the failure. Each test makes the request fail in another way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pages.conftest import expect
from tests.pages.mesh_data import VARIANT, RunningMesh

VARIANT_PATH = "/?q=" + "-".join(str(part) for part in VARIANT) + "&assembly=GRCh38"


@pytest.fixture
def tab(browser_context, mesh: RunningMesh) -> Iterator:
    """A fresh tab whose page errors the test reads itself (some tests expect one)."""
    opened = browser_context.new_page()
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(f"pageerror: {error}"))
    opened.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    try:
        yield opened
    finally:
        opened.close()


def is_busy(tab) -> bool:
    return tab.locator("#main").evaluate("main => main.hasAttribute('aria-busy')")


def page_errors(tab) -> list[str]:
    # The browser's own line for an aborted or failed fetch is expected here.
    return [e for e in tab.errors if "Failed to load resource" not in e]


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        (VARIANT_PATH, "**/v1/variants/**"),
        ("/?q=1:55051000-55052000&assembly=GRCh38", "**/v1/regions/**"),
        ("/?view=catalog", "**/v1/datasets**"),
        ("/?view=mesh", "**/v1/mesh/status"),
    ],
    ids=["variant", "region", "catalog", "mesh"],
)
def test_an_unreachable_gateway_leaves_no_view_busy(tab, mesh: RunningMesh, path, pattern):
    tab.route(pattern, lambda route: route.abort("connectionrefused"))
    tab.goto(mesh.url + path)
    expect(tab.locator("[data-problem]")).to_contain_text("The query failed")
    assert not is_busy(tab)
    expect(tab.locator("#q-error")).to_contain_text("could not be reached")
    assert page_errors(tab) == []


def test_an_answer_that_is_not_json_is_an_error_not_a_busy_page(tab, mesh: RunningMesh):
    def html_page(route):  # e.g. a proxy's page in front of the gateway, with 200
        route.fulfill(status=200, content_type="text/html", body="<html>maintenance</html>")

    tab.route("**/v1/variants/**", html_page)
    tab.goto(mesh.url + VARIANT_PATH)
    expect(tab.locator("#q-error")).to_have_text(
        "The gateway answered HTTP 200 without a JSON body."
    )
    assert tab.locator("[data-problem]").get_attribute("data-problem") == "200"
    assert not is_busy(tab)
    assert page_errors(tab) == []


def test_an_answer_the_page_cannot_show_is_said_and_logged(tab, mesh: RunningMesh):
    tab.route("**/v1/variants/**", lambda route: route.fulfill(status=200, json={}))
    tab.goto(mesh.url + VARIANT_PATH)
    problem = tab.locator("[data-problem]")
    expect(problem).to_contain_text("The page could not show the answer")
    assert "HTTP" not in problem.inner_text()  # no HTTP status was wrong
    expect(tab.locator("#q-error")).to_contain_text("TypeError")
    assert not is_busy(tab)
    errors = page_errors(tab)  # the bug reaches the console too, once, as an error
    assert len(errors) == 1
    assert "TypeError" in errors[0]


def test_leaving_a_view_that_is_still_loading_clears_busy(tab, mesh: RunningMesh):
    held = []

    def hold(route) -> None:  # a bound builtin can't be a Playwright handler
        held.append(route)

    tab.route("**/v1/variants/**", hold)  # unanswered while the test looks
    tab.goto(mesh.url + VARIANT_PATH)
    expect(tab.locator("#main")).to_have_attribute("aria-busy", "true")
    tab.locator('nav a[data-nav="search"]').click()
    expect(tab.get_by_role("heading", level=1)).to_contain_text("How common is a variant")
    assert not is_busy(tab)
    with tab.expect_event("requestfailed"):
        for route in held:
            route.abort()
    # The late failure of the superseded request changes nothing.
    assert tab.locator("[data-problem]").count() == 0
    assert not is_busy(tab)
