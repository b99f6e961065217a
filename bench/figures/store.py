"""Figure 1: the LMDB index's point lookup against a tabix fetch of the same variants.

Both sides look up the same sampled alleles of the same bgzipped VCF, after one
warm-up pass each (so both read from the page cache). The index side is what a node
does per lookup: normalize-free key encoding (:func:`nodes.index.keys.encode_key`) and
:meth:`nodes.serve.store.DatasetIndex.get` (one read transaction per get). The tabix side
is the cheapest honest alternative: ``pysam.TabixFile.fetch`` of the record's position
and a match on POS, REF and ALT in the returned lines.
"""

from __future__ import annotations

import statistics
import time

from bench import tabix as tabix_baseline
from bench.report import Figure, Row, percentile
from bench.workspace import Workspace
from mesh.model.genome import Assembly, canonical_chromosome
from mesh.model.normalize import normalize
from mesh.model.variants import VariantKey, validate_variant
from nodes.index.keys import encode_key
from nodes.serve.store import DatasetIndex

TITLE = "Store lookup: LMDB index vs tabix"
TARGET_SPEEDUP = 100.0
#: Untimed passes per side for the rates (alternating, median taken).
RATE_ROUNDS = 3


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Measure both lookups over the same sample."""
    data = ws.dataset()
    sample = data.sample[: ws.settings.store_lookups]
    index = DatasetIndex(ws.index())
    tabix = tabix_baseline.Tabix(data.vcf)
    try:
        keys: list[VariantKey] = []
        for a in sample:
            chrom = canonical_chromosome(a.chrom, Assembly.GRCH38)
            keys.append(normalize(validate_variant(chrom, a.pos, a.ref, a.alt, Assembly.GRCH38)))
        queries = tabix_baseline.queries(sample)

        def lmdb_one(key: VariantKey) -> bool:
            return index.get(encode_key(key)) is not None

        timed = tabix_baseline.timed
        timed(keys, lmdb_one)  # warm-up: page cache and code paths
        timed(queries, tabix.find)
        lmdb_lat, lmdb_found = timed(keys, lmdb_one)
        tabix_lat, tabix_found = timed(queries, tabix.find)
        # Rates from untimed loops, the two sides alternating, the median round of each.
        lmdb_rates: list[float] = []
        tabix_rates: list[float] = []
        for _ in range(RATE_ROUNDS):
            lmdb_rates.append(tabix_baseline.throughput(keys, lmdb_one))
            tabix_rates.append(tabix_baseline.throughput(queries, tabix.find))
        encoded = [encode_key(k) for k in keys]
        t0 = time.perf_counter()
        for start in range(0, len(encoded), 1000):
            index.get_many(encoded[start : start + 1000])
        many_wall = time.perf_counter() - t0
    finally:
        tabix.close()
        index.close()

    n = len(sample)
    lmdb_rate = statistics.median(lmdb_rates)
    tabix_rate = statistics.median(tabix_rates)
    speedup = lmdb_rate / tabix_rate
    figure = Figure(
        "store",
        TITLE,
        setup=(
            f"{n:,} sampled alleles of the generated file ({data.alleles:,} alleles, "
            f"{data.bytes / 1e6:.0f} MB bgzipped), looked up one at a time in this process "
            "after one warm-up pass per side. Index side: `encode_key` + "
            "`DatasetIndex.get` (a read txn per get). Baseline: `pysam.TabixFile.fetch` "
            "of the position + POS/REF/ALT match. Lookups per second: the median of "
            f"{RATE_ROUNDS} untimed passes per side, the sides alternating; latencies: "
            "one pass timed per lookup."
        ),
    )
    figure.rows = [
        Row(
            "lookups per second",
            lmdb_rate,
            "/s",
            baseline=tabix_rate,
            baseline_label="tabix",
            ratio=speedup,
            ratio_label="faster",
            target=f"≥ {TARGET_SPEEDUP:.0f}x faster than tabix",
            met=speedup >= TARGET_SPEEDUP,
            target_is_ratio=True,
        ),
        Row(
            "p50 latency",
            percentile(lmdb_lat, 50) * 1e6,
            "µs",
            baseline=percentile(tabix_lat, 50) * 1e6,
            baseline_label="tabix",
            ratio=percentile(tabix_lat, 50) / percentile(lmdb_lat, 50),
            ratio_label="faster",
        ),
        Row(
            "p99 latency",
            percentile(lmdb_lat, 99) * 1e6,
            "µs",
            baseline=percentile(tabix_lat, 99) * 1e6,
            baseline_label="tabix",
            ratio=percentile(tabix_lat, 99) / percentile(lmdb_lat, 99),
            ratio_label="faster",
        ),
        Row(
            "get_many, 1,000 keys per txn",
            n / many_wall,
            "/s",
            note="one read transaction per 1,000 keys (what BatchLookupVariants does)",
        ),
        Row(
            "variants found",
            float(lmdb_found),
            "",
            baseline=float(tabix_found),
            baseline_label="tabix",
            note=f"of {n:,} asked (both must find every one)",
        ),
    ]
    return figure
