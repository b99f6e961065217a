// The tier banner (on every page of anything but production) and the mesh check view:
// the gateway's last continuous `mesh check`, one row per peer address.

import { meshStatus } from "./api.js";
import { h, scrollable } from "./dom.js";

const CHECKS = [
  "reachable",
  "tls",
  "identity",
  "certificate",
  "tier",
  "health",
  "contract",
  "catalogue",
  "canary",
  "latency",
];

export async function showTierBanner() {
  let body;
  try {
    ({ body } = await meshStatus());
  } catch {
    return; // an older gateway without /v1/mesh/status: no banner rather than a wrong one
  }
  if (body.tier === "production") return;
  const banner = h(
    "div",
    { class: "tier-banner", role: "status", "data-tier": body.tier },
    h("strong", {}, `${body.tier.toUpperCase()} tier`),
    " — this gateway is not production: its data are for testing, not for research use.",
  );
  document.body.prepend(banner);
}

export async function meshView() {
  const { body } = await meshStatus();
  document.title = "Mesh check — allelemesh";
  const head = h(
    "div",
    { class: "view-head" },
    h("h1", {}, "Mesh check"),
    h("span", { class: "sub" }, `tier ${body.tier}: the gateway's last check of every peer`),
  );
  if (!body.check) {
    return [
      head,
      h(
        "p",
        { class: "card empty", "data-mesh-check": "none" },
        "No mesh check has finished yet (it runs every few minutes), or it is turned off.",
      ),
    ];
  }
  const rows = body.check.peers.map((peer) => {
    const byName = Object.fromEntries(peer.checks.map((c) => [c.name, c]));
    return h(
      "tr",
      { "data-peer": peer.id },
      h("th", { scope: "row" }, `${peer.id} (${peer.country})`),
      h("td", {}, h("code", {}, peer.address)),
      CHECKS.map((name) => {
        const check = byName[name] ?? { status: "skip", detail: "" };
        return h(
          "td",
          { class: `check-${check.status}`, title: check.detail, "data-check": name },
          check.status,
        );
      }),
    );
  });
  const problems = body.check.peers.flatMap((peer) =>
    peer.checks
      .filter((c) => c.status === "fail" || c.status === "warn")
      .map((c) =>
        h(
          "li",
          { class: `check-${c.status}` },
          h("strong", {}, `${peer.id} ${c.name}: `),
          c.detail,
        ),
      ),
  );
  return [
    head,
    h(
      "p",
      { class: "note", "data-mesh-ok": String(body.check.ok) },
      body.check.ok ? "No check failed." : "Some checks failed.",
      ` Checked ${body.check.finished_at}.`,
    ),
    scrollable(
      h(
        "table",
        { class: "mesh-check" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", {}, "peer"),
            h("th", {}, "address"),
            CHECKS.map((name) => h("th", { scope: "col" }, name)),
          ),
        ),
        h("tbody", {}, rows),
      ),
      "Mesh check per peer",
    ),
    problems.length
      ? [h("h2", {}, "What was found"), h("ul", { class: "mesh-problems" }, problems)]
      : null,
  ];
}
