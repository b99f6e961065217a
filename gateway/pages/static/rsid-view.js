// An rsID: every variant the datasets record under it, each labelled, then the node
// outcomes (a dataset indexed before rsIDs were kept is named there: "rebuild").

import { h } from "./dom.js";
import { variantLabel } from "./format.js";
import { outcomesTable, traceLine } from "./outcomes.js";
import { variantSections } from "./variant-view.js";

export function renderRsid(body, traceId) {
  const count = body.results.length;
  return [
    h(
      "div",
      { class: "view-head" },
      h(
        "h1",
        {},
        "rsID ",
        h("span", { class: "mono", "data-rsid": body.variant_id }, body.variant_id),
      ),
      h(
        "span",
        { class: "sub" },
        `${body.assembly} · ${count ? `${count} variant${count === 1 ? "" : "s"}` : "no variant"}`,
      ),
    ),
    count
      ? body.results.map((result, i) => variantSection(body, result, i))
      : h(
          "p",
          { class: "card empty" },
          `No dataset of the nodes that answered records ${body.variant_id}.`,
        ),
    h("h2", {}, "Nodes"),
    outcomesTable(body.outcomes),
    traceLine(traceId),
  ];
}

function variantSection(body, result, index) {
  const label = variantLabel(result.variant);
  const href = `?${new URLSearchParams({ q: label, assembly: body.assembly })}`;
  return h(
    "section",
    { class: "rsid-variant", "data-variant": label, "aria-labelledby": `v${index}-h` },
    h(
      "h2",
      { id: `v${index}-h` },
      `${body.variant_id} → `,
      h("a", { href, "data-link": "" }, h("code", {}, label)),
    ),
    variantSections(result, `v${index}-`),
  );
}
