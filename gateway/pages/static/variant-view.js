// One variant: a row per country and dataset, expandable populations, the pooled row,
// AF per country as a chart, the pooled populations with their AF chart, and the outcome
// of every node. Every pooled row (total, per country, per population) is the API's.

import { frequencyChart } from "./chart.js";
import { h, scrollable } from "./dom.js";
import {
  countCells,
  countHeaderCells,
  countryCode,
  countText,
  formatFrequency,
  markedText,
  markOf,
  populationLabel,
  SUPPRESSED,
  variantLabel,
} from "./format.js";
import { outcomesTable, traceLine } from "./outcomes.js";

export function renderVariant(body, traceId) {
  const label = variantLabel(body.variant);
  const countries = body.pooled_countries.length;
  const datasets = body.frequencies.length;
  return [
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Variant ", h("span", { class: "mono", "data-variant": label }, label)),
      h(
        "span",
        { class: "sub" },
        `${body.assembly} · ${datasets} dataset${datasets === 1 ? "" : "s"} in ${countries} countr${countries === 1 ? "y" : "ies"}`,
      ),
    ),
    variantSections(body, ""),
    h("h2", {}, "Nodes"),
    outcomesTable(body.outcomes),
    traceLine(traceId),
  ];
}

/** One variant's answer (an API result): pooled summary, charts, pooled populations, rows.
 * `prefix` keeps element ids apart when a page shows several variants (an rsID). */
export function variantSections(result, prefix) {
  const frequencies = [...result.frequencies].sort(
    (a, b) => a.country.localeCompare(b.country) || a.dataset_id.localeCompare(b.dataset_id),
  );
  if (!frequencies.length) {
    return h(
      "p",
      { class: "card empty" },
      "No dataset of the nodes that answered holds this variant.",
    );
  }
  const countries = result.pooled_countries.map((c) => ({ label: c.country, counts: c.counts }));
  return [
    summary(result.pooled, countries, prefix),
    pooledPopulations(result.pooled_populations, prefix),
    frequencyTable(frequencies, result.pooled, prefix),
  ];
}

function note(pooled) {
  const mark = markOf(pooled);
  if (mark === "lower") {
    return "Some datasets withhold counts: the pooled numbers are lower bounds (≥), the sums of what was released.";
  }
  if (mark === "approx")
    return "Some datasets round counts: the pooled numbers are approximate (≈).";
  return null;
}

function chartCard(bars, id, title) {
  return h(
    "section",
    { class: "card chart", "aria-labelledby": `${id}-h` },
    h("h2", { id: `${id}-h` }, title),
    frequencyChart(bars, `${id}-title`, title),
    h(
      "p",
      { class: "visually-hidden" },
      bars.map(
        (b) =>
          `${b.label}: ${b.counts.precision === SUPPRESSED ? "suppressed" : markedText(b.counts, formatFrequency(b.counts.allele_frequency))}. `,
      ),
    ),
  );
}

function summary(pooled, countries, prefix) {
  const stat = (name, content, cls) =>
    h("div", { class: cls }, h("dt", {}, name), h("dd", {}, content));
  const why = note(pooled);
  return h(
    "div",
    { class: "summary" },
    h(
      "section",
      { class: "card", "aria-labelledby": `${prefix}pooled-h` },
      h("h2", { id: `${prefix}pooled-h` }, "Pooled across the mesh"),
      h(
        "dl",
        { class: "stats", "data-pooled": "", "data-mark": markOf(pooled) },
        stat("AF", countText(pooled, pooled.allele_frequency, "af"), "af"),
        stat("AC", countText(pooled, pooled.allele_count)),
        stat("AN", countText(pooled, pooled.allele_number)),
        stat("Hom", countText(pooled, pooled.homozygous_count)),
        stat("Het", countText(pooled, pooled.heterozygous_count)),
        stat("Hemi", countText(pooled, pooled.hemizygous_count)),
      ),
      why ? h("p", { class: "note" }, why) : null,
    ),
    chartCard(countries, `${prefix}af-chart`, "Allele frequency per country"),
  );
}

/** Every population label more than one dataset reports, pooled by the API, and its chart. */
function pooledPopulations(populations, prefix) {
  if (!populations.length) return null;
  const caption = "Populations pooled across datasets (same label)";
  const table = h(
    "table",
    { class: "frequencies pooled-populations", "data-table": "pooled-populations" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Population"), ...countHeaderCells())),
    h(
      "tbody",
      {},
      populations.map((p) =>
        h(
          "tr",
          { "data-pooled-population": p.population, "data-mark": markOf(p.counts) },
          h("th", { scope: "row" }, populationLabel(p.population)),
          ...countCells(p.counts),
        ),
      ),
    ),
  );
  const bars = populations.map((p) => ({ label: p.population, counts: p.counts }));
  const lower = populations.some((p) => markOf(p.counts) === "lower");
  return h(
    "div",
    { class: "summary pops" },
    h(
      "section",
      { class: "card", "aria-labelledby": `${prefix}pooled-pops-h` },
      h("h2", { id: `${prefix}pooled-pops-h` }, "Pooled populations"),
      scrollable(table, caption),
      lower
        ? h(
            "p",
            { class: "note" },
            "≥: a dataset withheld its counts of that population; the row is a lower bound.",
          )
        : null,
    ),
    chartCard(bars, `${prefix}pop-chart`, "Allele frequency per population"),
  );
}

function frequencyTable(frequencies, pooled, prefix) {
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
    frequencies.map((f, i) => datasetBody(f, `${prefix}${i}`)),
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
