// A region: variants in genomic order with pooled counts, paged with the API's tokens.
//
// The API pages dataset rows, not variants: one variant's rows from several countries
// may straddle an API page. A view page is `pageSize` whole variants: it reads API
// pages until the next variant starts, and remembers where that was as the API page's
// token plus the rows of that page already shown (`skip`). Every variant appears once.
// The pooled counts of a page's variants are the API's: one batch lookup per view page
// (a region page's rows may straddle API pages, so they are never summed here).

import { lookupBatch, searchRegion } from "./api.js";
import { h, pagerNav, scrollable } from "./dom.js";
import { countryCode, countText, variantLabel } from "./format.js";
import { outcomesTable, traceLine } from "./outcomes.js";

export const DEFAULT_PAGE_SIZE = 25;
const MAX_API_PAGE = 1000;

const fetched = new Map(); // "region|assembly|size|token|dataset" -> response promise

function fetchPage(region, assembly, token, rows, dataset) {
  const key = [region, assembly, rows, token, dataset].join("|");
  if (!fetched.has(key)) {
    if (fetched.size > 50) fetched.clear();
    const answer = searchRegion(region, assembly, token, rows, dataset);
    answer.catch(() => fetched.delete(key));
    fetched.set(key, answer);
  }
  return fetched.get(key);
}

/** One view page: `pageSize` whole variants from row `skip` of the API page at `token`,
 * each with the pooled counts the API gives for it. */
export async function loadRegionPage(region, assembly, where) {
  const page = await collectGroups(region, assembly, where);
  if (page.groups.length) {
    const variants = page.groups.map((g) => g.key);
    const { body } = await lookupBatch(variants, assembly, where.dataset ?? "");
    page.groups.forEach((g, i) => {
      g.pooled = body.results[i].pooled;
    });
  }
  return page;
}

async function collectGroups(region, assembly, { token = "", skip = 0, pageSize, dataset = "" }) {
  const rows = Math.min(MAX_API_PAGE, pageSize * 4); // about one API page per view page
  const first = await fetchPage(region, assembly, token, rows, dataset);
  const groups = [];
  let at = { token, skip };
  let answer = first;
  for (;;) {
    const { frequencies, next_page_token: nextToken } = answer.body;
    for (let i = at.skip; i < frequencies.length; i += 1) {
      const f = frequencies[i];
      const key = variantLabel(f.variant);
      if (groups.at(-1)?.key !== key) {
        if (groups.length === pageSize) {
          return { ...first, groups, next: { token: at.token, skip: i } };
        }
        groups.push({ key, variant: f.variant, rows: [] });
      }
      groups.at(-1).rows.push(f);
    }
    if (!nextToken) return { ...first, groups, next: null };
    at = { token: nextToken, skip: 0 };
    answer = await fetchPage(region, assembly, nextToken, rows, dataset);
  }
}

export function renderRegion(page, { pageNumber, pageSize, onPrevious, onNext, hasPrevious }) {
  const { body, groups } = page;
  const from = (pageNumber - 1) * pageSize + 1;
  const shown =
    groups.length === 1 ? `variant ${from}` : `variants ${from}–${from + groups.length - 1}`;
  const r = body.region;
  const title = `${r.chromosome}:${r.start.toLocaleString("en-US")}-${r.end.toLocaleString("en-US")}`;
  const pager = (where) =>
    pagerNav(where, `Page ${pageNumber} · ${shown}`, {
      hasPrevious,
      hasNext: Boolean(page.next),
      onPrevious,
      onNext,
    });
  return [
    h(
      "div",
      { class: "view-head" },
      h("h1", {}, "Region ", h("span", { class: "mono" }, title)),
      h(
        "span",
        { class: "sub" },
        `${body.assembly} · variants in genomic order, pooled over every dataset`,
      ),
    ),
    groups.length
      ? [pager("top"), variantTable(groups, body.assembly), pager("bottom")]
      : h(
          "p",
          { class: "card empty" },
          "No dataset of the nodes that answered holds a variant in this region.",
        ),
    h("h2", {}, "Nodes"),
    outcomesTable(body.outcomes, "Node outcomes (first call of this page)"),
    traceLine(page.traceId),
  ];
}

function variantTable(groups, assembly) {
  const rows = groups.map((g) => {
    const pooled = g.pooled;
    const countries = [...new Set(g.rows.map((f) => f.country))].sort();
    const href = `?${new URLSearchParams({ q: g.key, assembly })}`;
    return h(
      "tr",
      { "data-variant": g.key },
      h("th", { scope: "row" }, h("a", { href, "data-link": "" }, h("code", {}, g.key))),
      h("td", { class: "num" }, g.variant.position.toLocaleString("en-US")),
      h(
        "td",
        {},
        countries.map((c) => [countryCode(c), " "]),
      ),
      h("td", { class: "num" }, String(g.rows.length)),
      h("td", { class: "num" }, countText(pooled, pooled.allele_count)),
      h("td", { class: "num" }, countText(pooled, pooled.allele_number)),
      h("td", { class: "num", "data-col": "af" }, countText(pooled, pooled.allele_frequency, "af")),
    );
  });
  const table = h(
    "table",
    { class: "region" },
    h("caption", {}, "Variants in the region"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Variant"),
        h("th", { scope: "col", class: "num" }, "Position"),
        h("th", { scope: "col" }, "Countries"),
        h("th", { scope: "col", class: "num" }, "Datasets"),
        h("th", { scope: "col", class: "num" }, h("abbr", { title: "Pooled allele count" }, "AC")),
        h("th", { scope: "col", class: "num" }, h("abbr", { title: "Pooled allele number" }, "AN")),
        h(
          "th",
          { scope: "col", class: "num" },
          h("abbr", { title: "Pooled allele frequency" }, "Pooled AF"),
        ),
      ),
    ),
    h("tbody", {}, rows),
  );
  return scrollable(table, "Variants in the region");
}
