// The dataset catalogue of the whole mesh, filtered by country and assembly.

import { ASSEMBLIES, listDatasets } from "./api.js";
import { h, scrollable } from "./dom.js";
import { countryCode, formatInteger } from "./format.js";
import { outcomeKind, traceLine } from "./outcomes.js";

let allCountries = null; // the country choices, from one unfiltered call

export async function loadCatalog({ country, assembly }) {
  const [filtered, everything] = await Promise.all([
    listDatasets({ country, assembly }),
    allCountries ? null : listDatasets(),
  ]);
  if (everything)
    allCountries = [...new Set(everything.body.datasets.map((d) => d.country))].sort();
  return { ...filtered, countries: allCountries };
}

export function renderCatalog(result, filters, onFilter) {
  const { body, traceId, countries } = result;
  const datasets = [...body.datasets].sort(
    (a, b) => a.country.localeCompare(b.country) || a.id.localeCompare(b.id),
  );
  const failed = body.outcomes.filter((o) => o.status.code_name !== "OK");
  return [
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Dataset catalogue"),
      h("span", { class: "sub" }, "every dataset the mesh serves"),
    ),
    filterForm(countries, filters, onFilter),
    h(
      "p",
      { class: "note", "aria-live": "polite", "data-count": datasets.length },
      `${datasets.length} dataset${datasets.length === 1 ? "" : "s"}`,
      filters.country ? ` in ${filters.country}` : "",
      filters.assembly ? ` on ${filters.assembly}` : "",
    ),
    datasets.length
      ? datasetTable(datasets)
      : h("p", { class: "card empty" }, "No dataset matches these filters."),
    failed.length
      ? h(
          "p",
          { class: "note", "data-failed-nodes": "" },
          "Not in the catalogue because the node did not answer: ",
          failed.map((o, i) => [
            i ? ", " : "",
            h("code", {}, o.node_id),
            ` (${outcomeKind(o).words})`,
          ]),
        )
      : null,
    traceLine(traceId),
  ];
}

function filterForm(countries, filters, onFilter) {
  const select = (id, label, choices, value) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h(
        "select",
        { id, name: id },
        h("option", { value: "" }, "All"),
        choices.map((c) => h("option", { value: c, selected: c === value }, c)),
      ),
    );
  const form = h(
    "form",
    { class: "filter-form", "aria-label": "Filter datasets" },
    select("filter-country", "Country", countries ?? [], filters.country),
    select("filter-assembly", "Assembly", ASSEMBLIES, filters.assembly),
  );
  form.addEventListener("change", () =>
    onFilter({
      country: form.elements["filter-country"].value,
      assembly: form.elements["filter-assembly"].value,
    }),
  );
  form.addEventListener("submit", (event) => event.preventDefault());
  return form;
}

// A dataset this caller may not query: its node shows only that it exists.
function existenceOnlyRow(d) {
  const withheld = () =>
    h("span", { class: "muted", title: "not shown to you by its node" }, "withheld");
  return h(
    "tr",
    { "data-dataset": d.id, "data-existence-only": "true" },
    h("td", {}, countryCode(d.country)),
    h("th", { scope: "row" }, h("code", {}, d.id)),
    h("td", {}, withheld()),
    h("td", { class: "num", "data-col": "samples" }, withheld()),
    h("td", { class: "num" }, withheld()),
    h("td", { class: "pops" }, withheld()),
    h("td", { class: "wrap-text" }, withheld()),
    h("td", {}, h("code", {}, d.node_id)),
  );
}

// A text of the metadata file in the reader's language if given, else English, else any.
function localized(texts) {
  if (!texts?.length) return "";
  const wanted = (navigator.language || "en").slice(0, 2).toLowerCase();
  const pick =
    texts.find((t) => t.language === wanted) ?? texts.find((t) => t.language === "en") ?? texts[0];
  return pick.text;
}

// The last segment of a vocabulary IRI: ".../access-right/RESTRICTED" -> "RESTRICTED".
function shortName(iri) {
  return iri ? iri.split(/[/#]/).filter(Boolean).at(-1) : "";
}

// "title: missing (A name given ...)" -> "title: missing" (the whole text is the tooltip).
function briefProblem(problem) {
  return problem.split(" (")[0].split(": ").slice(0, 2).join(": ");
}

function agentName(agent) {
  return localized(agent?.name) || "";
}

function metadataCell(d) {
  const m = d.metadata;
  const title = (m && localized(m.title)) || d.title;
  const facts = m
    ? [
        ["Publisher", agentName(m.publisher)],
        ["Access", shortName(m.access_rights)],
        ["HDAB", agentName(m.hdab)],
        ["Identifier", m.identifier],
      ].filter(([, value]) => value)
    : [];
  return h(
    "th",
    { scope: "row" },
    h("code", {}, d.id),
    title ? h("div", { class: "muted", "data-field": "title" }, title) : null,
    facts.length
      ? h(
          "dl",
          { class: "facts" },
          facts.map(([label, value]) => [
            h("dt", {}, label),
            h("dd", { "data-field": label.toLowerCase() }, value),
          ]),
        )
      : null,
    h(
      "div",
      { class: "links" },
      h(
        "a",
        {
          href: `?${new URLSearchParams({ dataset: d.id })}`,
          "data-link": "",
          "data-search-dataset": d.id,
        },
        "Search this dataset",
      ),
      d.fdp_path
        ? [
            " · ",
            h(
              "a",
              { href: d.fdp_path.replace(/^\//, ""), "data-fdp": d.id, type: "text/turtle" },
              "FAIR Data Point",
            ),
          ]
        : null,
      d.fdp_problems
        ? h(
            "div",
            { class: "muted", "data-fdp-problems": d.id, title: d.fdp_problems.join("\n") },
            "Not in the FAIR Data Point: ",
            d.fdp_problems.map(briefProblem).join("; "),
          )
        : null,
    ),
  );
}

function datasetTable(datasets) {
  const rows = datasets.map((d) =>
    d.existence_only
      ? existenceOnlyRow(d)
      : h(
          "tr",
          { "data-dataset": d.id },
          h("td", {}, countryCode(d.country)),
          metadataCell(d),
          h("td", {}, d.assembly),
          h("td", { class: "num", "data-col": "samples" }, formatInteger(d.sample_count)),
          h("td", { class: "num" }, formatInteger(d.variant_count)),
          h(
            "td",
            { class: "pops" },
            d.populations.length
              ? d.populations.map((p) => h("code", {}, p))
              : h("span", { class: "muted" }, "—"),
          ),
          h(
            "td",
            { class: "wrap-text", "data-field": "description" },
            (d.metadata && localized(d.metadata.description)) ||
              d.description ||
              h("span", { class: "muted" }, "—"),
          ),
          h("td", {}, h("code", {}, d.node_id)),
        ),
  );
  const table = h(
    "table",
    { class: "catalog" },
    h("caption", {}, "Datasets"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Country"),
        h("th", { scope: "col" }, "Dataset"),
        h("th", { scope: "col" }, "Assembly"),
        h("th", { scope: "col", class: "num" }, "Samples"),
        h("th", { scope: "col", class: "num" }, "Variants"),
        h("th", { scope: "col" }, "Populations"),
        h("th", { scope: "col" }, "Description"),
        h("th", { scope: "col" }, "Node"),
      ),
    ),
    h("tbody", {}, rows),
  );
  return scrollable(table, "Datasets");
}
