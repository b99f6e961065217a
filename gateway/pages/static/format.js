// How counts are written: exact counts as numbers, rounded ones as "≈50", suppressed
// ones as "suppressed", counts the dataset did not give (null) as "—" — never a
// suppressed, rounded or unknown count as if it were an exact number.

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

export function isExact(counts) {
  return counts.precision === EXACT || counts.precision === "COUNT_PRECISION_UNSPECIFIED";
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
  if (counts.precision === ROUNDED) {
    return h(
      "span",
      { class: "approx", title: "rounded by the dataset's privacy policy" },
      `≈${text}`,
    );
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

/** Sum of counts over rows: pooled AC/AN/AF and whether any part was rounded or withheld. */
export function poolCounts(rows) {
  const sum = {
    allele_count: 0,
    allele_number: 0,
    homozygous_count: 0,
    heterozygous_count: 0,
    hemizygous_count: 0,
  };
  let inexact = false;
  let released = false;
  for (const c of rows) {
    if (c.precision === SUPPRESSED) {
      inexact = true;
      continue;
    }
    if (!isExact(c)) inexact = true;
    released = true;
    // A count unknown in any row is unknown in the pool.
    for (const key of Object.keys(sum)) {
      sum[key] =
        sum[key] === null || c[key] === null || c[key] === undefined ? null : sum[key] + c[key];
    }
  }
  const af =
    sum.allele_number && sum.allele_count !== null ? sum.allele_count / sum.allele_number : null;
  let precision = inexact ? ROUNDED : EXACT;
  if (!released) precision = SUPPRESSED;
  return { ...sum, allele_frequency: af, precision };
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
