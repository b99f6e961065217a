// A gene: how the symbol was resolved, its span, and every variant in it with the
// allele frequency per country and pooled over the mesh, as the API computed them
// (GET /v1/genes/{symbol}: whole variants per page, in genomic order). The table sorts
// the page shown by any column (click a header); the pager follows the API's tokens.

import { searchGene } from "./api.js";
import { h, pagerNav, scrollable } from "./dom.js";
import { countText, variantLabel } from "./format.js";
import { outcomesTable, traceLine } from "./outcomes.js";

export const DEFAULT_GENE_PAGE_SIZE = 25;

// A gene symbol the search box sends to the gene view: a letter first, symbol characters,
// and not a variant such as X-100-A-G or chrX:100 (a chromosome, a separator, a digit).
const GENE = /^[A-Za-z][A-Za-z0-9._@'-]*$/;
const CHROMOSOME_FIRST = /^(chr)?([0-9]{1,2}|X|Y|MT?)[-:_ ]\d/i;

export function looksLikeGene(text) {
  return GENE.test(text) && !CHROMOSOME_FIRST.test(text) && !/^rs\d+$/i.test(text);
}

export async function loadGenePage(symbol, assembly, { token = "", pageSize, dataset = "" }) {
  return searchGene(symbol, assembly, token, pageSize, dataset);
}

function span(region) {
  const at = (n) => n.toLocaleString("en-US");
  return `${region.chromosome}:${at(region.start)}-${at(region.end)}`;
}

/** The resolution note: which gene, and how the query reached it. */
function resolution(gene) {
  const others = gene.other_loci.map(span);
  return h(
    "div",
    { class: "note", "data-resolution": gene.match },
    gene.match === "symbol"
      ? null
      : h(
          "p",
          {},
          h("code", {}, gene.query),
          " → ",
          h("strong", {}, gene.symbol),
          ` (${gene.match})`,
        ),
    h("p", { class: "muted" }, gene.resolution),
    others.length ? h("p", {}, `Also on ${others.join(", ")} (not searched).`) : null,
  );
}

export function renderGene(page, { pageNumber, onPrevious, onNext, hasPrevious }) {
  const { body, traceId } = page;
  const gene = body.gene;
  const results = body.results;
  const pager = (where) =>
    pagerNav(where, `Page ${pageNumber}`, {
      hasPrevious,
      hasNext: Boolean(body.next_page_token),
      onPrevious,
      onNext,
    });
  return [
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Gene ", h("span", { class: "mono", "data-gene": gene.symbol }, gene.symbol)),
      h(
        "span",
        { class: "sub", "data-span": span(gene.region) },
        `${body.assembly} · ${span(gene.region)} · variants per country and pooled over every dataset`,
      ),
    ),
    resolution(gene),
    results.length
      ? [pager("top"), geneTable(results, body.assembly), pager("bottom")]
      : h(
          "p",
          { class: "card empty" },
          `No dataset of the nodes that answered holds a variant in ${gene.symbol}.`,
        ),
    h("h2", {}, "Nodes"),
    outcomesTable(body.outcomes),
    traceLine(traceId),
  ];
}

/** Sort keys: a missing or suppressed value sorts last whichever the direction. */
function sortValue(counts) {
  if (!counts || counts.precision === "COUNT_PRECISION_SUPPRESSED") return null;
  return counts.allele_frequency ?? null;
}

function geneTable(results, assembly) {
  const countries = [...new Set(results.flatMap((r) => r.pooled_countries.map((c) => c.country)))];
  countries.sort();
  const columns = [
    { key: "variant", label: "Variant", ordered: true, value: (r) => r.index },
    { key: "position", label: "Position", num: true, ordered: true, value: (r) => r.index },
    ...countries.map((cc) => ({
      key: `af-${cc}`,
      label: `AF ${cc}`,
      title: `Allele frequency in ${cc}, pooled over its datasets`,
      num: true,
      value: (r) => sortValue(r.byCountry[cc]),
    })),
    {
      key: "ac",
      label: "AC",
      title: "Pooled allele count",
      num: true,
      value: (r) => r.pooled.allele_count,
    },
    {
      key: "an",
      label: "AN",
      title: "Pooled allele number",
      num: true,
      value: (r) => r.pooled.allele_number,
    },
    {
      key: "af",
      label: "Pooled AF",
      title: "Pooled allele frequency",
      num: true,
      value: (r) => sortValue(r.pooled),
    },
  ];
  const rows = results.map((result, index) => ({
    ...result,
    index,
    byCountry: Object.fromEntries(result.pooled_countries.map((c) => [c.country, c.counts])),
  }));
  const tbody = h("tbody", {});
  const heads = columns.map((column) =>
    h(
      "th",
      {
        scope: "col",
        class: column.num ? "num" : null,
        "aria-sort": "none",
        "data-sort": column.key,
      },
      h(
        "button",
        { type: "button", class: "sort", onclick: () => sortBy(column) },
        column.title ? h("abbr", { title: column.title }, column.label) : column.label,
      ),
    ),
  );
  let current = { key: "position", descending: false };
  function sortBy(column) {
    // A first click sorts counts high to low, positions in genomic order.
    const descending = current.key === column.key ? !current.descending : !column.ordered;
    current = { key: column.key, descending };
    const sorted = [...rows].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      if (x === y) return a.index - b.index;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return descending ? y - x : x - y;
    });
    heads.forEach((th, i) => {
      const on = columns[i].key === column.key;
      th.setAttribute("aria-sort", on ? (descending ? "descending" : "ascending") : "none");
    });
    tbody.replaceChildren(...sorted.map((r) => row(r, countries, assembly)));
  }
  tbody.append(...rows.map((r) => row(r, countries, assembly)));
  heads[1].setAttribute("aria-sort", "ascending");
  const table = h(
    "table",
    { class: "region gene" },
    h("caption", {}, "Variants in the gene (click a column to sort this page)"),
    h("thead", {}, h("tr", {}, heads)),
    tbody,
  );
  return scrollable(table, "Variants in the gene");
}

function row(result, countries, assembly) {
  const label = variantLabel(result.variant);
  const href = `?${new URLSearchParams({ q: label, assembly })}`;
  const pooled = result.pooled;
  return h(
    "tr",
    { "data-variant": label },
    h("th", { scope: "row" }, h("a", { href, "data-link": "" }, h("code", {}, label))),
    h("td", { class: "num" }, result.variant.position.toLocaleString("en-US")),
    countries.map((cc) => {
      const counts = result.byCountry[cc];
      return h(
        "td",
        { class: "num", "data-country": cc },
        counts ? countText(counts, counts.allele_frequency, "af") : "",
      );
    }),
    h("td", { class: "num" }, countText(pooled, pooled.allele_count)),
    h("td", { class: "num" }, countText(pooled, pooled.allele_number)),
    h("td", { class: "num", "data-col": "af" }, countText(pooled, pooled.allele_frequency, "af")),
  );
}
