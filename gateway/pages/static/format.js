// How counts are written: exact counts as numbers, rounded ones as "≈50", pooled ones
// that are lower bounds (the API's `lower_bound`: a dataset withheld its part) as "≥50",
// suppressed ones as "suppressed", counts the dataset did not give (null) as "—" —
// never a suppressed, rounded or unknown count as if it were an exact number. Pooled
// rows come from the API as computed there; nothing is summed here.

import { h } from "./dom.js";

export const EXACT = "COUNT_PRECISION_EXACT";
export const ROUNDED = "COUNT_PRECISION_ROUNDED";
export const SUPPRESSED = "COUNT_PRECISION_SUPPRESSED";

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatInteger(value) {
  return integer.format(value);
}

/** Allele frequency: 3 significant digits, scientific below 1e-4. */
export function formatFrequency(af) {
  if (!af) return "0";
  return af < 1e-4 ? af.toExponential(2) : af.toPrecision(3);
}

/** The mark the API's precision and `lower_bound` give: exact, approx, lower or suppressed. */
export function markOf(counts) {
  if (counts.precision === SUPPRESSED) return "suppressed";
  if (counts.lower_bound) return "lower";
  if (counts.precision === ROUNDED) return "approx";
  return "exact";
}

/** A value's text with its mark: "≈" rounded, "≥" a lower bound. */
export function markedText(counts, text) {
  const mark = markOf(counts);
  if (mark === "lower") return `≥${text}`;
  if (mark === "approx") return `≈${text}`;
  return text;
}

/** One count cell's content: a text node or a marked-up span. */
export function countText(counts, value, kind = "count") {
  if (counts.precision === SUPPRESSED) {
    return h(
      "span",
      { class: "suppressed", title: "withheld by the dataset's privacy policy" },
      "suppressed",
    );
  }
  if (value === null || value === undefined) {
    return h("span", { class: "unknown", title: "not given by the dataset (unknown, not 0)" }, "—");
  }
  const text = kind === "af" ? formatFrequency(value) : formatInteger(value);
  const mark = markOf(counts);
  if (mark === "lower") {
    const why =
      "at least this: a dataset withheld its counts (privacy policy), so the pool is a lower bound";
    return h("span", { class: "lower-bound", title: why }, markedText(counts, text));
  }
  if (mark === "approx") {
    const why = "rounded by the dataset's privacy policy";
    return h("span", { class: "approx", title: why }, markedText(counts, text));
  }
  return text;
}

/** The six count columns of a row: AC, AN, AF, hom, het, hemi. */
export function countCells(counts, tag = "td") {
  return [
    h(tag, { class: "num" }, countText(counts, counts.allele_count)),
    h(tag, { class: "num" }, countText(counts, counts.allele_number)),
    h(tag, { class: "num" }, countText(counts, counts.allele_frequency, "af")),
    h(tag, { class: "num" }, countText(counts, counts.homozygous_count)),
    h(tag, { class: "num" }, countText(counts, counts.heterozygous_count)),
    h(tag, { class: "num" }, countText(counts, counts.hemizygous_count)),
  ];
}

export const COUNT_HEADERS = [
  ["AC", "Allele count"],
  ["AN", "Allele number"],
  ["AF", "Allele frequency"],
  ["Hom", "Homozygous individuals"],
  ["Het", "Heterozygous individuals"],
  ["Hemi", "Hemizygous individuals"],
];

export function countHeaderCells() {
  return COUNT_HEADERS.map(([short, long]) =>
    h("th", { scope: "col", class: "num" }, h("abbr", { title: long }, short)),
  );
}

export function countryCode(code) {
  return h("span", { class: "cc", title: `country ${code}` }, code || "—");
}

export function variantLabel(v) {
  return `${v.chromosome}-${v.position}-${v.reference_bases}-${v.alternate_bases}`;
}

/** A population label with its meaning: GDI NO, NO_M, NO_F; gnomAD AFR, M, F. */
export function populationLabel(label) {
  const sex = { M: "male", F: "female" };
  if (sex[label])
    return [h("code", {}, label), " ", h("span", { class: "muted" }, `(${sex[label]})`)];
  const match = /^([A-Za-z]+)_([MF])$/.exec(label);
  if (match) {
    return [
      h("code", {}, label),
      " ",
      h("span", { class: "muted" }, `(${match[1]}, ${sex[match[2]]})`),
    ];
  }
  return h("code", {}, label);
}
