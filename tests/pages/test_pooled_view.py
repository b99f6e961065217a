"""Pooled rows in a real Chromium: per country, per population (table and AF chart), rsIDs.

A mesh of its own: four datasets in three countries reporting gnomAD-style labels that
several of them share (NFE, M, F; AFR only once), LU withholding cells below 5 alleles.
Every number the page shows is checked against sums of the records this test wrote
(:func:`tests.pages.expect.pooled`, over the cells the policy releases), and a pool with
a withheld part must carry the lower-bound mark ``≥``. The pages sum nothing themselves:
these rows are the API's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.pages.conftest import expect, screenshot
from tests.pages.expect import assert_cells, count_texts, label, pooled, rows_for
from tests.pages.mesh_data import DatasetSpec, RunningMesh, running_mesh
from tests.vcf_factory import GroupCounts, SiteRecord

POPV = ("1", 56_000_000, "C", "T")
POPV2 = ("1", 56_000_100, "G", "A")
LABELS = ("NFE", "AFR", "M", "F")


def _record(pos: int, ref: str, alt: str, rsid: str, total: tuple, **groups: tuple) -> SiteRecord:
    def counts(cell: tuple) -> GroupCounts:
        an, ac, hom = cell
        return GroupCounts(an, [ac], [hom])

    populations = {k: counts(v) for k, v in groups.items()}
    return SiteRecord("1", pos, ref, [alt], counts(total), populations, id=rsid)


def specs() -> list[DatasetSpec]:
    no_a = [
        _record(POPV[1], "C", "T", "rs777;rs56", (4000, 120, 5), NFE=(2000, 70, 3),
                AFR=(1000, 30, 1), M=(2000, 60, 2), F=(2000, 60, 3)),
        _record(POPV2[1], "G", "A", "rs777", (4000, 40, 1), NFE=(2000, 20, 0),
                AFR=(1000, 10, 0), M=(2000, 20, 0), F=(2000, 20, 1)),
    ]  # fmt: skip
    no_b = [_record(POPV[1], "C", "T", ".", (1000, 25, 1), NFE=(600, 15, 1), M=(500, 12, 0))]
    fi_a = [
        _record(POPV[1], "C", "T", ".", (3000, 90, 4), NFE=(2500, 80, 4), M=(1500, 45, 2),
                F=(1500, 45, 2)),
        _record(POPV2[1], "G", "A", ".", (3000, 30, 0), NFE=(2500, 25, 0), M=(1500, 15, 0),
                F=(1500, 15, 0)),
    ]  # fmt: skip
    # LU: NFE withheld at POPV (3 < 5); at POPV2 everything (total 3).
    lu_a = [
        _record(POPV[1], "C", "T", ".", (1200, 50, 0), NFE=(600, 3, 0), M=(600, 9, 0)),
        _record(POPV2[1], "G", "A", ".", (1200, 3, 0), NFE=(600, 1, 0), M=(600, 2, 0)),
    ]
    # LU's older index (no rsID table): it still gives its counts of what others resolve.
    lu_old = [_record(POPV2[1], "G", "A", "rs777", (800, 40, 2), NFE=(800, 40, 2))]
    gnomad = {"style": "gnomad"}
    return [
        DatasetSpec("no-a", "NO", "no-oslo-1", no_a, list(LABELS), **gnomad),
        DatasetSpec("no-b", "NO", "no-oslo-1", no_b, ["NFE", "M"], **gnomad),
        DatasetSpec("fi-a", "FI", "fi-hki-1", fi_a, ["NFE", "M", "F"], **gnomad),
        DatasetSpec("lu-a", "LU", "lu-lux-1", lu_a, ["NFE", "M"], min_ac=5, **gnomad),
        DatasetSpec("lu-old", "LU", "lu-lux-1", lu_old, ["NFE"], without_ids=True, **gnomad),
    ]


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with running_mesh(tmp_path_factory.mktemp("pooled-mesh"), specs()) as running:
        yield running


def _cells(row) -> list[str]:
    return [t.strip() for t in row.locator("td.num").all_inner_texts()]


def population_rows(mesh: RunningMesh, variant: tuple, group: str) -> dict[str, tuple]:
    """``rows_for`` a population, with the disclosure rule for genotype counts: a dataset
    that withholds any cell of the variant releases no population hom/het/hemi counts
    (they could give the withheld one away through AC = 2 hom + het + hemi)."""
    rows = rows_for(mesh.specs, variant, group)
    for dataset_id in rows:
        cells = [rows_for(mesh.specs, variant, g).get(dataset_id) for g in ("", *LABELS)]
        if any(c is not None and c[1] == "suppressed" for c in cells):
            counts, precision = rows[dataset_id]
            rows[dataset_id] = ((counts[0], counts[1], None, None, None), precision)
    return rows


def expected_populations(mesh: RunningMesh, variant: tuple) -> dict[str, tuple]:
    """label -> (pooled counts, precision) for every label more than one dataset reports."""
    out = {}
    for group in LABELS:
        rows = population_rows(mesh, variant, group)
        if len(rows) > 1:
            out[group] = pooled(list(rows.values()))
    return out


def _af_text(counts: tuple, precision: str) -> str:
    ac, an = counts[0], counts[1]
    mark = {"exact": "", "rounded": "≈", "lower": "≥"}[precision]
    return f"{mark}{ac / an:.3g}"


def check_variant(scope, mesh: RunningMesh, variant: tuple) -> None:
    """The pooled rows of ``variant`` inside ``scope`` (the page, or an rsID's section)."""
    total, precision = pooled(list(rows_for(mesh.specs, variant).values()))
    stats = scope.locator("[data-pooled]")
    assert stats.get_attribute("data-mark") == {"lower": "lower", "exact": "exact"}[precision]
    assert_cells(_cells(scope.locator("tr.pooled")), count_texts(total, precision))

    populations = expected_populations(mesh, variant)
    assert "AFR" not in populations  # one dataset only: never pooled
    table = scope.locator('[data-table="pooled-populations"]')
    shown = table.locator("tr[data-pooled-population]").evaluate_all(
        "rows => rows.map(r => r.dataset.pooledPopulation)"
    )
    assert shown == sorted(populations)
    for group, (counts, group_precision) in populations.items():
        row = table.locator(f'tr[data-pooled-population="{group}"]')
        assert_cells(_cells(row), count_texts(counts, group_precision))
        if group_precision == "lower":  # the mark is visible, with its reason
            assert row.locator(".lower-bound").first.is_visible()
            assert "lower bound" in (row.locator(".lower-bound").first.get_attribute("title") or "")

    chart = scope.get_by_role("img", name=re.compile("Allele frequency per population"))
    description = chart.locator("desc").text_content() or ""
    for group, (counts, group_precision) in populations.items():
        assert f"{group}: {_af_text(counts, group_precision)}" in description, description
    assert chart.locator("rect.bar").count() == len(populations)

    by_country: dict[str, list] = {}
    for spec in mesh.specs:
        row = rows_for([spec], variant).get(spec.id)
        if row is not None:
            by_country.setdefault(spec.country, []).append(row)
    countries = scope.get_by_role("img", name=re.compile("Allele frequency per country"))
    described = countries.locator("desc").text_content() or ""
    for country, rows in by_country.items():
        counts, country_precision = pooled(rows)
        if country_precision == "suppressed":
            assert f"{country}: suppressed" in described
        else:
            assert f"{country}: {_af_text(counts, country_precision)}" in described, described


def test_pooled_populations_and_a_lower_bound(page, mesh: RunningMesh):
    page.goto(f"{mesh.url}/?q={label(POPV)}&assembly=GRCh38")
    page.locator("table.outcomes").wait_for()
    nfe = expected_populations(mesh, POPV)["NFE"]
    assert nfe[1] == "lower"  # LU's NFE cell is withheld (else this shows no bound)
    no_rows = [r for d, r in rows_for(mesh.specs, POPV).items() if d.startswith("no-")]
    assert len(no_rows) == 2  # NO's bar pools two datasets
    check_variant(page, mesh, POPV)
    screenshot(page, "variant-pooled-populations")

    page.goto(f"{mesh.url}/?q={label(POPV2)}&assembly=GRCh38")
    page.locator("table.outcomes").wait_for()
    total = pooled(list(rows_for(mesh.specs, POPV2).values()))
    assert total[1] == "lower"  # LU's whole row withheld
    check_variant(page, mesh, POPV2)
    expect(page.locator("[data-pooled] .af dd")).to_contain_text("≥")
    expect(page.locator(".summary .note").first).to_contain_text("lower bounds")


def test_an_rsid_shows_each_variant_labelled(page, mesh: RunningMesh):
    page.goto(mesh.url + "/")
    page.get_by_label("Variant or region").fill("RS777")
    page.get_by_label("Variant or region").press("Enter")
    page.locator("table.outcomes").wait_for()
    expect(page.get_by_role("heading", level=1)).to_contain_text("rs777")
    sections = page.locator("section.rsid-variant")
    expect(sections).to_have_count(2)  # one record each: rs777 names two variants
    assert sections.evaluate_all("s => s.map(e => e.dataset.variant)") == [
        label(POPV),
        label(POPV2),
    ]
    for variant in (POPV, POPV2):
        section = page.locator(f'section.rsid-variant[data-variant="{label(variant)}"]')
        expect(section.get_by_role("heading", level=2).first).to_contain_text(
            f"rs777 → {label(variant)}"
        )
        check_variant(section, mesh, variant)
    # LU's older index is named in its node's outcome: rebuild it, not "not found".
    note = page.locator('tr[data-node="lu-lux-1"] .dataset-outcome[data-dataset="lu-old"]')
    expect(note).to_contain_text("FAILED_PRECONDITION")
    expect(note).to_contain_text("rebuild")
    screenshot(page, "rsid")

    page.get_by_label("Variant or region").fill("rs56")
    page.get_by_label("Variant or region").press("Enter")
    expect(page.locator("section.rsid-variant")).to_have_count(1)
    page.get_by_label("Variant or region").fill("rs999")
    page.get_by_label("Variant or region").press("Enter")
    expect(page.locator(".card.empty")).to_contain_text("records rs999")
