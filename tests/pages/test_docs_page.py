"""``/docs`` in a real Chromium under the gateway's Content-Security-Policy.

The ``page`` fixture fails the test on any console error, and Chromium logs every
resource or script the policy refuses as one, so these also show that the policy
admits what the browser page and the local Swagger UI need, and nothing is fetched
from elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.pages.conftest import expect, screenshot
from tests.pages.mesh_data import RunningMesh


def _record_requests(page) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def test_swagger_ui_runs_from_local_assets_under_the_csp(page, mesh: RunningMesh):
    requests = _record_requests(page)
    response = page.goto(mesh.url + "/docs")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("allelemesh HTTP API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    # Open one operation: Swagger UI renders its parameters (React, styles, icons).
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    screenshot(page, "docs-swagger-ui")
    origin = urlsplit(mesh.url).netloc
    foreign = [url for url in requests if urlsplit(url).netloc not in (origin, "")]
    assert not foreign, f"fetched from elsewhere: {foreign}"
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in requests)


def test_the_browser_page_runs_under_the_csp(page, mesh: RunningMesh):
    response = page.goto(mesh.url + "/?view=catalog")
    assert response is not None
    assert response.headers["x-frame-options"] == "DENY"
    expect(page.locator("main")).to_be_visible()
    page.goto(mesh.url + "/?q=1:1-100000000")
    expect(page.locator("main")).to_be_visible()
