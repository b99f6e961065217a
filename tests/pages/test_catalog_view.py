"""The dataset catalogue in a real Chromium: every dataset, filtered by country and assembly."""

from __future__ import annotations

from tests.pages.conftest import expect, screenshot
from tests.pages.mesh_data import DEAD_NODE, RunningMesh


def shown(page) -> list[str]:
    return page.locator("table.catalog tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.dataset)"
    )


def test_catalogue_lists_and_filters_datasets(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    page.get_by_role("navigation").get_by_role("link", name="Dataset catalogue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dataset catalogue")
    expect(page.locator("table.catalog tbody tr")).to_have_count(len(mesh.specs))
    assert sorted(shown(page)) == sorted(s.id for s in mesh.specs)
    for spec in mesh.specs:
        row = page.locator(f'table.catalog tr[data-dataset="{spec.id}"]')
        text = row.inner_text()
        assert spec.country in text
        assert spec.assembly in text
        assert spec.description in text
        assert row.locator('[data-col="samples"]').inner_text() == f"{spec.sample_count():,}"
        for group in spec.groups:
            assert group in text
    assert DEAD_NODE in page.locator("[data-failed-nodes]").inner_text()
    screenshot(page, "catalog")

    page.get_by_label("Country").select_option("FI")
    expect(page.locator("table.catalog tbody tr")).to_have_count(2)
    assert sorted(shown(page)) == ["fi-gdi", "fi-legacy"]
    assert "country=FI" in page.url

    page.get_by_label("Assembly", exact=True).select_option("GRCh37")
    expect(page.locator("table.catalog tbody tr")).to_have_count(1)
    assert shown(page) == ["fi-legacy"]
    assert "assembly=GRCh37" in page.url
    screenshot(page, "catalog-filtered")

    page.get_by_label("Country").select_option("NO")  # NO has nothing on GRCh37
    expect(page.locator("main .empty")).to_contain_text("No dataset matches")
    page.reload()  # the filters live in the address
    expect(page.get_by_label("Country")).to_have_value("NO")
    expect(page.get_by_label("Assembly", exact=True)).to_have_value("GRCh37")


def test_catalogue_shows_the_metadata_and_links_the_fdp_and_a_dataset_search(page, mesh):
    page.goto(mesh.url + "/?view=catalog")
    row = page.locator('table.catalog tr[data-dataset="no-gdi"]')
    expect(row.locator('[data-field="publisher"]')).to_have_text("allelemesh demo node")
    expect(row.locator('[data-field="access"]')).to_have_text("PUBLIC")
    expect(row.locator('[data-field="hdab"]')).to_have_text("allelemesh data access committee")
    expect(row.locator('[data-field="title"]')).to_have_text("Norwegian GDI cohort")
    fdp = row.locator('a[data-fdp="no-gdi"]')
    expect(fdp).to_have_attribute("href", "fdp/dataset/no-gdi")
    turtle = page.request.get(mesh.url + "/fdp/dataset/no-gdi", headers={"Accept": "text/turtle"})
    assert turtle.ok
    assert '"Norwegian GDI cohort"@en' in turtle.text()
    # A dataset without a metadata file is not in the FDP, and the page says why.
    bare = page.locator('table.catalog tr[data-dataset="no-biobank"]')
    expect(bare.locator("a[data-fdp]")).to_have_count(0)
    expect(bare.locator("[data-fdp-problems]")).to_contain_text("metadata file: missing")
    expect(bare.locator("[data-fdp-problems]")).to_have_attribute(
        "title",
        "metadata file: missing: the dataset has no publishable metadata "
        "(give its index one with index metadata DIR --set-from FILE)",
    )

    row.locator('a[data-search-dataset="no-gdi"]').click()
    expect(page.locator("[data-only-dataset]")).to_contain_text("no-gdi")
    assert "dataset=no-gdi" in page.url
    page.get_by_label("Variant or region").fill("1-55051215-G-GA")
    page.get_by_label("Variant or region").press("Enter")
    expect(page.locator("tbody.dataset")).to_have_count(1)
    assert page.locator("tbody.dataset").get_attribute("data-dataset") == "no-gdi"
    assert "dataset=no-gdi" in page.url
