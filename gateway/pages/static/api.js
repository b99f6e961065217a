// Calls to the gateway's JSON API (/v1) on the same origin.
// Every answer is { ok, status, body, traceId }; errors carry the RFC 7807 problem as body.

/** The assemblies the API serves, in the order the pages offer them (GRCh38 the default). */
export const ASSEMBLIES = ["GRCh38", "GRCh37"];

export class ApiError extends Error {
  constructor(status, problem, traceId) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem ?? {};
    this.traceId = traceId;
  }
}

async function getJson(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, value);
  }
  return fetchJson(`v1/${path}${query.size ? `?${query}` : ""}`, {});
}

async function fetchJson(url, init) {
  let response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { Accept: "application/json", ...init.headers },
    });
  } catch (error) {
    throw new ApiError(0, { detail: `The gateway could not be reached (${error.message}).` }, "");
  }
  const traceId = response.headers.get("X-Trace-Id") ?? "";
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Even with 200 (a proxy's HTML page, a cut-off answer) this is no answer to show.
    const detail = `The gateway answered HTTP ${response.status} without a JSON body.`;
    throw new ApiError(response.status, { detail }, traceId);
  }
  if (!response.ok) throw new ApiError(response.status, body, traceId);
  return { body, traceId };
}

export function lookupVariant(variant, assembly, dataset) {
  return getJson(`variants/${encodeURIComponent(variant)}`, { assembly, dataset });
}

export function lookupRsid(rsid, assembly, dataset) {
  return getJson(`rsids/${encodeURIComponent(rsid)}`, { assembly, dataset });
}

/** POST /v1/variants:batch: one result (pooled rows included) per variant, in order. */
export function lookupBatch(variants, assembly, dataset) {
  const body = { variants, assembly, datasets: dataset ? [dataset] : [] };
  return fetchJson("v1/variants:batch", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

export function searchRegion(region, assembly, pageToken, pageSize, dataset) {
  return getJson(`regions/${encodeURIComponent(region)}`, {
    assembly,
    page_token: pageToken,
    page_size: pageSize,
    dataset,
  });
}

/** GET /v1/genes/{symbol}: how it resolved, then one page of its variants. */
export function searchGene(symbol, assembly, pageToken, pageSize, dataset) {
  return getJson(`genes/${encodeURIComponent(symbol)}`, {
    assembly,
    page_token: pageToken,
    page_size: pageSize,
    dataset,
  });
}

export function listDatasets(filters = {}) {
  return getJson("datasets", filters);
}

export function meshStatus() {
  return getJson("mesh/status");
}
