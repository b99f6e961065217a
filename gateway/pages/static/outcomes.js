// What happened at every node asked: answered, timed out, refused, unavailable.

import { h, scrollable } from "./dom.js";
import { countryCode, formatInteger } from "./format.js";

const KINDS = {
  OK: ["answered", "answered"],
  DEADLINE_EXCEEDED: ["timed-out", "timed out"],
  CANCELLED: ["timed-out", "cancelled"],
  PERMISSION_DENIED: ["refused", "refused"],
  UNAUTHENTICATED: ["refused", "refused"],
  UNAVAILABLE: ["unavailable", "unavailable"],
  RESOURCE_EXHAUSTED: ["over-budget", "over budget"],
};

export function outcomeKind(outcome) {
  const [kind, words] = KINDS[outcome.status.code_name] ?? ["failed", "failed"];
  return { kind, words };
}

export function outcomesSummary(outcomes) {
  const answered = outcomes.filter((o) => o.status.code_name === "OK").length;
  return `${answered} of ${outcomes.length} node${outcomes.length === 1 ? "" : "s"} answered`;
}

/** The node's datasets that gave no rows, and why (withheld, budget spent, to rebuild). */
function datasetNotes(outcome) {
  const notes = outcome.datasets ?? [];
  if (!notes.length) return null;
  return h(
    "ul",
    { class: "dataset-outcomes" },
    notes.map((d) =>
      h(
        "li",
        { class: "dataset-outcome", "data-dataset": d.dataset_id },
        h("code", {}, d.dataset_id),
        `: ${d.status.code_name}: ${d.status.message}`,
      ),
    ),
  );
}

export function outcomesTable(outcomes, caption = "Node outcomes") {
  const rows = outcomes.map((o) => {
    const { kind, words } = outcomeKind(o);
    const message =
      o.status.code_name === "OK"
        ? null
        : h("span", { class: "status-message" }, `${o.status.code_name}: ${o.status.message}`);
    return h(
      "tr",
      { "data-node": o.node_id, "data-status": kind },
      h("th", { scope: "row" }, h("code", {}, o.node_id)),
      h("td", {}, countryCode(o.country)),
      h("td", {}, h("span", { class: `status ${kind}` }, words), message, datasetNotes(o)),
      h("td", { class: "num" }, `${o.latency_ms.toFixed(1)} ms`),
      h("td", { class: "num" }, formatInteger(o.frequency_count)),
    );
  });
  const table = h(
    "table",
    { class: "outcomes" },
    h("caption", {}, `${caption} — ${outcomesSummary(outcomes)}`),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, "Node"),
        h("th", { scope: "col" }, "Country"),
        h("th", { scope: "col" }, "Outcome"),
        h("th", { scope: "col", class: "num" }, "Latency"),
        h("th", { scope: "col", class: "num" }, "Rows"),
      ),
    ),
    h("tbody", {}, rows),
  );
  return scrollable(table, caption);
}

export function traceLine(traceId) {
  if (!traceId) return null;
  return h(
    "p",
    { class: "trace" },
    "Trace ID for operators: ",
    h("code", { "data-trace-id": "" }, traceId),
  );
}
