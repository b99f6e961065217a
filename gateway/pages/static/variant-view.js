// One variant: a row per country and dataset, expandable populations, the pooled row,
// AF per country as a chart, and the outcome of every node.

import { frequencyChart } from "./chart.js";
import { h, scrollable } from "./dom.js";
import {
  countCells,
  countHeaderCells,
  countryCode,
  countText,
  formatFrequency,
  isExact,
  poolCounts,
  populationLabel,
  SUPPRESSED,
  variantLabel,
} from "./format.js";
import { outcomesTable, traceLine } from "./outcomes.js";

export function renderVariant(body, traceId) {
  const label = variantLabel(body.variant);
  const frequencies = [...body.frequencies].sort(
    (a, b) => a.country.localeCompare(b.country) || a.dataset_id.localeCompare(b.dataset_id),
  );
  const countries = byCountry(frequencies);
  const datasets = frequencies.length;
  return [
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Variant ", h("span", { class: "mono", "data-variant": label }, label)),
      h(
        "span",
        { class: "sub" },
        `${body.assembly} · ${datasets} dataset${datasets === 1 ? "" : "s"} in ${countries.length} countr${countries.length === 1 ? "y" : "ies"}`,
      ),
    ),
    datasets
      ? summary(body.pooled, countries)
      : h(
          "p",
          { class: "card empty" },
          "No dataset of the nodes that answered holds this variant.",
        ),
    datasets ? frequencyTable(frequencies, body.pooled) : null,
    h("h2", {}, "Nodes"),
    outcomesTable(body.outcomes),
    traceLine(traceId),
  ];
}

function byCountry(frequencies) {
  const groups = new Map();
  for (const f of frequencies) {
    if (!groups.has(f.country)) groups.set(f.country, []);
    groups.get(f.country).push(f.counts);
  }
  return [...groups].map(([country, rows]) => ({ country, counts: poolCounts(rows) }));
}

function summary(pooled, countries) {
  const stat = (name, content, cls) =>
    h("div", { class: cls }, h("dt", {}, name), h("dd", {}, content));
  return h(
    "div",
    { class: "summary" },
    h(
      "section",
      { class: "card", "aria-labelledby": "pooled-h" },
      h("h2", { id: "pooled-h" }, "Pooled across the mesh"),
      h(
        "dl",
        { class: "stats", "data-pooled": "" },
        stat("AF", countText(pooled, pooled.allele_frequency, "af"), "af"),
        stat("AC", countText(pooled, pooled.allele_count)),
        stat("AN", countText(pooled, pooled.allele_number)),
        stat("Hom", countText(pooled, pooled.homozygous_count)),
        stat("Het", countText(pooled, pooled.heterozygous_count)),
        stat("Hemi", countText(pooled, pooled.hemizygous_count)),
      ),
      isExact(pooled)
        ? null
        : h(
            "p",
            { class: "note" },
            "Some datasets round or withhold counts: the pooled numbers are approximate.",
          ),
    ),
    h(
      "section",
      { class: "card chart", "aria-labelledby": "chart-h" },
      h("h2", { id: "chart-h" }, "Allele frequency per country"),
      frequencyChart(countries, "af-chart-title"),
      h(
        "p",
        { class: "visually-hidden" },
        countries.map(
          (c) =>
            `${c.country}: ${c.counts.precision === SUPPRESSED ? "suppressed" : formatFrequency(c.counts.allele_frequency)}. `,
        ),
      ),
    ),
  );
}

function frequencyTable(frequencies, pooled) {
  const table = h(
    "table",
    { class: "frequencies" },
    h("caption", {}, "Counts per country and dataset"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Country"),
        h("th", { scope: "col" }, "Dataset"),
        ...countHeaderCells(),
        h("th", { scope: "col" }, "Node"),
        h("th", { scope: "col" }, "Filters"),
      ),
    ),
    frequencies.map((f, i) => datasetBody(f, i)),
    h(
      "tfoot",
      {},
      h(
        "tr",
        { class: "pooled", "data-row": "pooled" },
        h("th", { scope: "row", colspan: 2 }, "Pooled"),
        ...countCells(pooled),
        h("td", {}),
        h("td", {}),
      ),
    ),
  );
  return scrollable(table, "Counts per country and dataset");
}

function datasetBody(f, index) {
  const popIds = `pops-${index}`;
  const populations = f.populations.map((p) =>
    h(
      "tr",
      { class: "population", "data-population": p.population, hidden: true },
      h("td", {}),
      h("th", { scope: "row" }, populationLabel(p.population)),
      ...countCells(p.counts),
      h("td", {}),
      h("td", {}),
    ),
  );
  const toggle = f.populations.length
    ? h(
        "button",
        {
          type: "button",
          class: "toggle",
          "aria-expanded": "false",
          "aria-controls": popIds,
          title: `Show the ${f.populations.length} populations of ${f.dataset_id}`,
          onclick: (event) => togglePopulations(event.currentTarget, populations),
        },
        f.dataset_id,
        h("span", { class: "visually-hidden" }, ": populations"),
      )
    : h("code", {}, f.dataset_id);
  const filters = f.filters.filter((x) => x !== "PASS");
  const tbody = h(
    "tbody",
    { class: "dataset", id: popIds, "data-dataset": f.dataset_id, "data-country": f.country },
    h(
      "tr",
      { class: "dataset-row" },
      h("td", {}, countryCode(f.country)),
      h("th", { scope: "row" }, toggle),
      ...countCells(f.counts),
      h("td", {}, h("code", {}, f.node_id)),
      h("td", { class: "filters" }, filters.join(", ")),
    ),
    populations,
  );
  return tbody;
}

function togglePopulations(button, rows) {
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  for (const row of rows) row.hidden = !open;
}
