// A small horizontal bar chart of allele frequency per country or population, as inline SVG.
// The SVG has a <title> and <desc>; the same numbers are in the table beside it.

import { svg } from "./dom.js";
import { formatFrequency, markedText, markOf, SUPPRESSED } from "./format.js";

const BAR_HEIGHT = 16;
const GAP = 7;
const LABEL_WIDTH = 34;
const VALUE_WIDTH = 84;
const WIDTH = 400;

/** `bars`: [{ label, counts }], counts pooled by the API (per country, per population). */
export function frequencyChart(bars, titleId, title = "Allele frequency per country") {
  const labelWidth = Math.max(LABEL_WIDTH, ...bars.map((b) => 8 * b.label.length + 6));
  const plotWidth = WIDTH - labelWidth - VALUE_WIDTH;
  const shown = bars.filter((b) => b.counts.precision !== SUPPRESSED);
  const max = Math.max(...shown.map((b) => b.counts.allele_frequency), 0) || 1;
  const height = bars.length * (BAR_HEIGHT + GAP) + GAP;
  const described = bars.map((b) => `${b.label}: ${valueText(b.counts)}`).join("; ");
  const children = [
    svg("title", { id: titleId }, title),
    svg("desc", { id: `${titleId}-desc` }, described || "Nothing to show."),
    svg("line", { class: "axis", x1: labelWidth, x2: labelWidth, y1: 0, y2: height }),
  ];
  bars.forEach((bar, i) => {
    const y = GAP + i * (BAR_HEIGHT + GAP);
    const af = bar.counts.precision === SUPPRESSED ? 0 : bar.counts.allele_frequency;
    const width = Math.max(af > 0 ? 2 : 0, (af / max) * plotWidth);
    children.push(
      svg("text", { class: "label", x: 0, y: y + BAR_HEIGHT * 0.72 }, bar.label),
      svg("rect", {
        class: `bar${markOf(bar.counts) === "exact" ? "" : " inexact"}`,
        "data-bar": bar.label,
        x: labelWidth,
        y,
        width: width.toFixed(1),
        height: BAR_HEIGHT,
        rx: 2,
      }),
      svg("text", { x: labelWidth + width + 6, y: y + BAR_HEIGHT * 0.72 }, valueText(bar.counts)),
    );
  });
  return svg(
    "svg",
    {
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: "img",
      "aria-labelledby": `${titleId} ${titleId}-desc`,
    },
    children,
  );
}

function valueText(counts) {
  if (counts.precision === SUPPRESSED) return "suppressed";
  if (counts.allele_frequency === null || counts.allele_frequency === undefined) return "unknown";
  const text = formatFrequency(counts.allele_frequency);
  return markedText(counts, text);
}
