"""The tier banner and the mesh check view in a real Chromium."""

from __future__ import annotations

from tests.pages.conftest import expect, screenshot
from tests.pages.mesh_data import DEAD_NODE, RunningMesh


def test_production_shows_no_tier_banner(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".tier-banner")).to_have_count(0)


def test_staging_banner_and_last_mesh_check(page, mesh: RunningMesh):
    page.goto(mesh.staging_url + "/")
    banner = page.locator(".tier-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("STAGING tier")
    assert banner.get_attribute("data-tier") == "staging"
    for _ in range(20):  # the first continuous run finishes about a second after start
        page.goto(mesh.staging_url + "/?view=mesh")
        expect(page.get_by_role("heading", level=1)).to_have_text("Mesh check")
        if page.locator("table.mesh-check").count():
            break
        page.wait_for_timeout(500)
    dead = page.locator(f'table.mesh-check tr[data-peer="{DEAD_NODE}"]')
    expect(dead.locator('[data-check="reachable"]')).to_have_text("fail")
    expect(dead.locator('[data-check="health"]')).to_have_text("skip")
    alive = page.locator("table.mesh-check tbody tr").first
    assert alive.get_attribute("data-peer") != DEAD_NODE
    expect(alive.locator('[data-check="reachable"]')).to_have_text("ok")
    expect(alive.locator('[data-check="tls"]')).to_have_text("skip")  # plaintext mesh
    expect(page.locator(".mesh-problems")).to_contain_text(f"{DEAD_NODE} reachable")
    expect(banner).to_be_visible()  # on every page of a non-production gateway
    screenshot(page, "mesh-check-staging")
