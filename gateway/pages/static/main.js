// The page's router: the query string says which view to show, so every view is linkable.
//   /?q=1-55051215-G-GA&assembly=GRCh38      variant view
//   /?q=1:55051000-55052000&page_size=25      region view (page_token, skip, page: where)
//   /?q=PCSK9&assembly=GRCh38                 gene view (page_token, page: where)
//   /?view=catalog&country=NO&assembly=GRCh38 dataset catalogue
//   &dataset=ID on a search                   only that dataset (from the catalogue)

import { ApiError, ASSEMBLIES, lookupRsid, lookupVariant } from "./api.js";
import { loadCatalog, renderCatalog } from "./catalog-view.js";
import { h, replace } from "./dom.js";
import { DEFAULT_GENE_PAGE_SIZE, loadGenePage, looksLikeGene, renderGene } from "./gene-view.js";
import { meshView, showTierBanner } from "./mesh-view.js";
import { outcomesTable, traceLine } from "./outcomes.js";
import { DEFAULT_PAGE_SIZE, loadRegionPage, renderRegion } from "./region-view.js";
import { renderRsid } from "./rsid-view.js";
import { renderVariant } from "./variant-view.js";

const REGION = /^[^\s:]+:[\d,]+-[\d,]+$/;
const RSID = /^rs\d+$/i;
const EXAMPLES = [
  "1-55051215-G-GA",
  "NC_000001.11:g.55051215G>A",
  "1:55051000-55052000",
  "rs11591147",
  "PCSK9",
];

const main = document.getElementById("main");
const form = document.getElementById("search");
const input = document.getElementById("q");
const errorBox = document.getElementById("q-error");
let renderCount = 0;

function params() {
  return new URLSearchParams(window.location.search);
}

function assemblyOf(p) {
  const asked = p.get("assembly") ?? "";
  return ASSEMBLIES.find((a) => a.toLowerCase() === asked.toLowerCase()) ?? "GRCh38";
}

function navigate(query, state = {}) {
  const search = new URLSearchParams(query).toString();
  window.history.pushState(state, "", search ? `?${search}` : "./");
  render({ focus: true });
}

function showError(message) {
  errorBox.textContent = message;
  input.setAttribute("aria-invalid", message ? "true" : "false");
}

function markNav(view) {
  for (const link of document.querySelectorAll("nav a[data-nav]")) {
    if (link.dataset.nav === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function syncForm(p) {
  input.value = p.get("view") ? "" : (p.get("q") ?? "");
  const assembly = assemblyOf(p);
  for (const radio of form.elements.assembly) radio.checked = radio.value === assembly;
}

async function render({ focus = false } = {}) {
  const ticket = ++renderCount; // a newer navigation wins over a slower answer
  const p = params();
  syncForm(p);
  showError("");
  const view = ["catalog", "mesh"].includes(p.get("view")) ? p.get("view") : "search";
  markNav(view);
  const q = (p.get("q") ?? "").trim();
  if (view === "search" && !q) {
    document.title = "allelemesh — allele frequencies across the mesh";
    main.removeAttribute("aria-busy"); // a slower view still loading is superseded
    replace(main, home());
    return;
  }
  main.setAttribute("aria-busy", "true");
  replace(main, h("p", { class: "muted" }, "Asking every node…"));
  let content;
  try {
    if (view === "catalog") content = await catalogView(p);
    else if (view === "mesh") content = await meshView();
    else if (REGION.test(q)) content = await regionView(p, q);
    else if (RSID.test(q)) content = await rsidView(p, q);
    else if (looksLikeGene(q)) content = await geneView(p, q);
    else content = await variantView(p, q);
  } catch (error) {
    content = failure(error instanceof ApiError ? error : unexpected(error));
  } finally {
    // Whatever happened, the newest navigation's region is no longer busy.
    if (ticket === renderCount) main.removeAttribute("aria-busy");
  }
  if (ticket !== renderCount) return;
  replace(main, content);
  const heading = main.querySelector("h1");
  if (focus && heading) {
    heading.tabIndex = -1; // focus the new view's heading, for keyboard and screen readers
    heading.focus();
  }
}

function datasetOf(p) {
  return (p.get("dataset") ?? "").trim();
}

async function rsidView(p, q) {
  const { body, traceId } = await lookupRsid(q, assemblyOf(p), datasetOf(p));
  document.title = `${q} — allelemesh`;
  return renderRsid(body, traceId);
}

async function geneView(p, q) {
  const assembly = assemblyOf(p);
  const pageSize = Number(p.get("page_size")) || DEFAULT_GENE_PAGE_SIZE;
  const pageNumber = Number(p.get("page")) || 1;
  const token = p.get("page_token") ?? "";
  const page = await loadGenePage(q, assembly, { token, pageSize, dataset: datasetOf(p) });
  document.title = `${page.body.gene.symbol} — allelemesh`;
  const previous = window.history.state?.previous ?? [];
  const pageQuery = (at, n) => ({
    q,
    assembly,
    ...(datasetOf(p) ? { dataset: datasetOf(p) } : {}),
    ...(p.get("page_size") ? { page_size: pageSize } : {}),
    ...(at ? { page_token: at } : {}),
    ...(n > 1 ? { page: n } : {}),
  });
  return renderGene(page, {
    pageNumber,
    hasPrevious: pageNumber > 1,
    onNext: () =>
      navigate(pageQuery(page.body.next_page_token, pageNumber + 1), {
        previous: [...previous, token],
      }),
    onPrevious: () => {
      // Came here by "Next": step back along the chain; from a shared link: page 1.
      const back = previous.at(-1) ?? "";
      const n = previous.length ? pageNumber - 1 : 1;
      navigate(pageQuery(back, n), { previous: previous.slice(0, -1) });
    },
  });
}

async function variantView(p, q) {
  const { body, traceId } = await lookupVariant(q, assemblyOf(p), datasetOf(p));
  document.title = `${q} — allelemesh`;
  return renderVariant(body, traceId);
}

async function regionView(p, q) {
  const assembly = assemblyOf(p);
  const pageSize = Number(p.get("page_size")) || DEFAULT_PAGE_SIZE;
  const pageNumber = Number(p.get("page")) || 1;
  const here = { token: p.get("page_token") ?? "", skip: Number(p.get("skip")) || 0 };
  const page = await loadRegionPage(q, assembly, { ...here, pageSize, dataset: datasetOf(p) });
  document.title = `${q} — allelemesh`;
  const previous = window.history.state?.previous ?? [];
  const pageQuery = (at, n) => ({
    q,
    assembly,
    ...(datasetOf(p) ? { dataset: datasetOf(p) } : {}),
    ...(p.get("page_size") ? { page_size: pageSize } : {}),
    ...(at.token ? { page_token: at.token } : {}),
    ...(at.skip ? { skip: at.skip } : {}),
    ...(n > 1 ? { page: n } : {}),
  });
  return renderRegion(page, {
    pageNumber,
    pageSize,
    hasPrevious: pageNumber > 1,
    onNext: () => navigate(pageQuery(page.next, pageNumber + 1), { previous: [...previous, here] }),
    onPrevious: () => {
      // Came here by "Next": step back along the chain; from a shared link: page 1.
      const back = previous.at(-1) ?? { token: "", skip: 0 };
      const n = previous.length ? pageNumber - 1 : 1;
      navigate(pageQuery(back, n), { previous: previous.slice(0, -1) });
    },
  });
}

async function catalogView(p) {
  const filters = { country: p.get("country") ?? "", assembly: p.get("assembly") ?? "" };
  const result = await loadCatalog(filters);
  document.title = "Dataset catalogue — allelemesh";
  return renderCatalog(result, filters, (chosen) => {
    const query = { view: "catalog" };
    if (chosen.country) query.country = chosen.country;
    if (chosen.assembly) query.assembly = chosen.assembly;
    window.history.replaceState({}, "", `?${new URLSearchParams(query)}`);
    render();
  });
}

/** A bug in the page, not an answer of the API: said on the page, and kept in the console. */
function unexpected(error) {
  console.error(error);
  return new ApiError(
    0,
    { title: "The page could not show the answer", detail: String(error) },
    "",
  );
}

function failure(error) {
  showError(error.message);
  const outcomes = error.problem.outcomes ?? [];
  return [
    h(
      "div",
      { class: "problem", "data-problem": error.status },
      h("strong", {}, error.problem.title || "The query failed"),
      error.status ? ` (HTTP ${error.status}). ` : ". ",
      error.problem.field
        ? ["The problem is with ", h("code", {}, error.problem.field), "."]
        : null,
    ),
    outcomes.length ? [h("h2", {}, "Nodes"), outcomesTable(outcomes)] : null,
    traceLine(error.traceId),
  ];
}

function home() {
  const dataset = datasetOf(params());
  const query = (q) => ({ q, assembly: "GRCh38", ...(dataset ? { dataset } : {}) });
  const link = (q) =>
    h("li", {}, h("a", { href: `?${new URLSearchParams(query(q))}`, "data-link": "" }, q));
  return h(
    "div",
    { class: "intro" },
    dataset
      ? h(
          "p",
          { class: "note", "data-only-dataset": dataset },
          "Searching only dataset ",
          h("code", {}, dataset),
          " (",
          h("a", { href: "./", "data-link": "" }, "search every dataset"),
          ").",
        )
      : null,
    h("h1", { tabindex: "-1" }, "How common is a variant, country by country?"),
    h(
      "p",
      {},
      "Search a variant, a region or a gene: every national node of the mesh answers with its own ",
      "aggregated counts, and the gateway pools them. Each node's outcome is shown, so a country ",
      "that did not answer is never mistaken for a country without the variant.",
    ),
    h("h2", {}, "Try"),
    h("ul", { class: "examples" }, EXAMPLES.map(link)),
    h(
      "p",
      {},
      "Or browse the ",
      h("a", { href: "?view=catalog", "data-link": "" }, "dataset catalogue"),
      ".",
    ),
  );
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = input.value.trim();
  if (!q) {
    showError(
      "Enter a variant (e.g. 1-55051215-G-GA), a region (e.g. 1:55051000-55052000) or a gene (e.g. PCSK9).",
    );
    input.focus();
    return;
  }
  const dataset = datasetOf(params());
  navigate({ q, assembly: form.elements.assembly.value, ...(dataset ? { dataset } : {}) });
});

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-link], nav a[data-nav]");
  if (!link || event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(Object.fromEntries(new URL(link.href).searchParams));
});

window.addEventListener("popstate", () => render({ focus: true }));
showTierBanner();
render();
