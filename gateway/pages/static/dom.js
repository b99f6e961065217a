// A tiny element builder: h("td", { class: "num" }, "12") → <td class="num">12</td>.
// Children are nodes, strings or arrays of them; null/undefined/false are skipped.

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace everything inside `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A horizontally scrollable wrapper, so wide tables never widen the page. */
export function scrollable(table, label) {
  return h(
    "div",
    { class: "table-scroll", role: "region", "aria-label": label, tabindex: "0" },
    table,
  );
}

// Previous/Next buttons around a page label (`where` names the pager for screen readers:
// a view has one above and one below its table).
export function pagerNav(where, label, { hasPrevious, hasNext, onPrevious, onNext }) {
  return h(
    "nav",
    { class: "pager", "aria-label": `Pages (${where})` },
    h(
      "button",
      { type: "button", "data-page": "previous", disabled: !hasPrevious, onclick: onPrevious },
      "← Previous",
    ),
    h("span", { class: "where", "aria-live": "polite" }, label),
    h(
      "button",
      { type: "button", "data-page": "next", disabled: !hasNext, onclick: onNext },
      "Next →",
    ),
  );
}
