"""Figure 6: gnomAD v4 genomes on paper, from the per-record costs measured in this run.

* Build time for ~760 M alleles at the measured ``--jobs 1`` and ``--jobs 2`` rates, and
  at 16 jobs by Amdahl's law fitted to those two (the serial share is what does not
  shrink from 1 to 2 jobs; the fit is optimistic when the 2-core machine is saturated).
* Index size: measured bytes per stored variant x 760 M.
* Lookup QPS of a 16-core node (``--workers 16``, clients elsewhere): 16 / the node's
  measured server CPU seconds per LookupVariant with 64 in flight; batch variants/s
  likewise from CPU per batched variant. Assumes the index fits the page cache.
"""

from __future__ import annotations

from bench.report import Figure, Row
from bench.workspace import Workspace

TITLE = "Scale on paper: gnomAD v4 genomes"
GNOMAD_V4_ALLELES = 760_000_000
CORES = 16


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Project from the build and node figures of this run (or the last one)."""
    figure = Figure("scale", TITLE)
    figure.setup = __doc__.split("\n\n", 1)[1].strip() if __doc__ else ""
    build = done.get("build")
    node = done.get("node")
    rows: list[Row] = []
    if build is None or "seconds_jobs1" not in build.extra:
        why = "the build figure was not measured in this run"
        rows += [Row.not_measured("build time", why), Row.not_measured("index size", why)]
    else:
        extra = build.extra
        per_allele_1 = extra["seconds_jobs1"] / extra["alleles"]
        per_allele_2 = extra["seconds_jobs2"] / extra["alleles"]
        serial = min(1.0, max(0.0, 2 * per_allele_2 / per_allele_1 - 1))
        per_allele_16 = per_allele_1 * (serial + (1 - serial) / CORES)
        per_variant_bytes = extra["index_bytes"] / extra["variants"]
        n = GNOMAD_V4_ALLELES
        rows += [
            Row("build time, --jobs 1", per_allele_1 * n / 3600, "h",
                note=f"{per_allele_1 * 1e6:.2f} µs per allele measured"),
            Row("build time, --jobs 2", per_allele_2 * n / 3600, "h",
                note=f"{per_allele_2 * 1e6:.2f} µs per allele measured"),
            Row(f"build time, --jobs {CORES} (Amdahl fit)", per_allele_16 * n / 3600, "h",
                note=f"serial share {serial:.0%} from the 1- and 2-job runs"),
            Row("index size", per_variant_bytes * n / 1e9, "GB",
                note=f"{per_variant_bytes:.0f} bytes per variant measured"),
        ]  # fmt: skip
    if node is None or "server_cpu_s_per_lookup" not in node.extra:
        why = "the node figure was not measured in this run"
        rows += [Row.not_measured(f"lookup QPS, {CORES} cores", why)]
    else:
        cpu = node.extra["server_cpu_s_per_lookup"]
        cpu_batch = node.extra["server_cpu_s_per_batch_variant"]
        rows += [
            Row(f"LookupVariant QPS, {CORES}-core node", CORES / cpu, "calls/s",
                note=f"{cpu * 1e6:.0f} µs server CPU per call measured"),
            Row(f"batched variants/s, {CORES}-core node", CORES / cpu_batch, "variants/s",
                note=f"{cpu_batch * 1e6:.2f} µs server CPU per variant measured"),
        ]  # fmt: skip
    figure.rows = rows
    return figure
