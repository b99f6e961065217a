"""Figure 6: gnomAD v4 genomes on paper, from the per-record costs measured in this run.

* Build time for ~760 M alleles at the measured ``--jobs 1`` and ``--jobs 2`` rates, and
  at 16 jobs by Amdahl's law fitted to those two (the serial share is what does not
  shrink from 1 to 2 jobs; the fit is optimistic when the 2-core machine is saturated).
* Index size: measured bytes per stored variant x 760 M.
* Lookup QPS of a 16-core node (``--workers 16``, clients elsewhere): 16 / the node's
  measured server CPU seconds per LookupVariant with 64 in flight; batch variants/s
  likewise from CPU per batched variant. Assumes the index fits the page cache.
* Gateway fan-out lookups per core at 27 peers: 1 / the gateway's measured CPU seconds
  per lookup at N = 27 (the fan-out figure).
* A 1+MG national node of 1,000,000 genomes (#21), its callset aggregated by ``allelemesh
  hail export`` into per-chromosome sites VCFs on its own cluster: an assumed 1.5 billion
  alleles (gnomAD v4 has 760 M at 76k genomes; new genomes add mostly singletons). Build
  time from the per-chromosome ``--jobs 2`` run's cost per allele: at 24 jobs, one per
  chromosome file, the largest (chr1, ~8 % of alleles) bounds it. Index size: bytes per
  variant measured, each stored AN widened to 4 bytes (AN reaches 2 M), other counts as
  measured (a lower bound for common variants).
"""

from __future__ import annotations

from bench.report import Figure, Row
from bench.workspace import Workspace

TITLE = "Scale on paper: gnomAD v4 genomes"
GNOMAD_V4_ALLELES = 760_000_000
CORES = 16
NATIONAL_ALLELES = 1_500_000_000
CHR1_SHARE = 0.08


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
    size = done.get("size")
    if build is None or "seconds_split_jobs2" not in build.extra:
        rows.append(Row.not_measured("1M genomes: build", "no per-chromosome build this run"))
    else:
        extra = build.extra
        per_allele = extra["seconds_split_jobs2"] / extra["alleles"] * 2  # CPU s per allele
        n = NATIONAL_ALLELES
        rows += [
            Row("1M genomes: build, one job", per_allele * n / 3600, "h",
                note=f"{per_allele * 1e6:.2f} µs CPU per allele (per-chromosome --jobs 2 "
                     f"run x 2 cores), {n / 1e9:.1f} billion alleles assumed"),
            Row("1M genomes: build, 24 jobs (one per chromosome)",
                per_allele * n * CHR1_SHARE / 3600, "h",
                note="bounded by chr1's ~8 % of the alleles; 24+ cores"),
        ]  # fmt: skip
    if size is None or "gnomAD-like_value_bytes" not in size.extra:
        rows.append(Row.not_measured("1M genomes: index size", "no size figure this run"))
    else:
        extra = size.extra
        per_variant = extra["gnomAD-like_index_bytes"] / extra["gnomAD-like_variants"]
        grown = per_variant + extra["gnomAD-like_an_growth"]
        rows.append(
            Row("1M genomes: index size (27 groups)", grown * NATIONAL_ALLELES / 1e9, "GB",
                note=f"{per_variant:.0f} bytes per variant measured + "
                     f"{extra['gnomAD-like_an_growth']:.0f} for 4-byte ANs")
        )  # fmt: skip
    if node is None or "server_cpu_s_per_lookup" not in node.extra:
        why = "the node figure was not measured in this run"
        rows += [Row.not_measured(f"lookup QPS, {CORES} cores", why)]
    else:
        cpu = node.extra["server_cpu_s_per_lookup"]
        cpu_batch = node.extra["server_cpu_s_per_batch_variant"]
        rows += [
            Row(f"LookupVariant QPS, {CORES}-core node", CORES / cpu, "calls/s",
                note=f"{cpu * 1e6:.0f} µs server CPU per call measured: "
                     f"{1 / cpu:,.0f} calls/s per core"),
            Row(f"batched variants/s, {CORES}-core node", CORES / cpu_batch, "variants/s",
                note=f"{cpu_batch * 1e6:.2f} µs server CPU per variant measured"),
        ]  # fmt: skip
    gateway = done.get("gateway")
    key = "gateway_cpu_s_per_lookup_n27"
    if gateway is None or key not in gateway.extra:
        rows.append(Row.not_measured("gateway fan-out lookups/s per core, 27 peers",
                                     "no 27-node fan-out this run"))  # fmt: skip
    else:
        cpu = gateway.extra[key]
        rows.append(Row("gateway fan-out lookups/s per core, 27 peers", 1 / cpu, "lookups/s",
                        note=f"{cpu * 1e3:.1f} ms gateway CPU per lookup measured "
                             f"({cpu * 1e3 / 27:.2f} ms per peer)"))  # fmt: skip
    figure.rows = rows
    return figure
