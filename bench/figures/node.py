"""Figure 2: one node over gRPC on loopback, against raw LMDB gets in-process (the floor).

The node runs as ``allelemesh node serve`` in its own process with its shipped defaults
(one worker, INFO request logs to a file), over mTLS when ``mesh.security.pki`` exists. The
client is this process: blocking calls for the sequential latencies, a grpc.aio client
for 64 in flight and for batches. The transport floor is :mod:`bench.echo_server` (a bare
grpc.aio server with the same options and TLS), timed in blocks alternating with the node
in the same minute; the single-lookup target is the node's p50 over the echo server's.
The in-process floor is the same number of
:meth:`nodes.serve.store.DatasetIndex.get` / ``get_many`` calls on pre-encoded keys in this
process, so ``service / floor`` is the whole cost of the service around the store. Sequential
1,000-variant batches are compared with in-process tabix lookups of the batches' variants
(:class:`bench.tabix.Tabix`, the store figure's loop), in rounds: some batch calls, then
one batch's variants through tabix, so load that comes and goes lands on both sides.
Server CPU per call (from ``/proc``) feeds the scale projection.
"""

from __future__ import annotations

import time

from bench import client
from bench import tabix as tabix_baseline
from bench.procs import ProcessSet, TlsFiles
from bench.report import Figure, Row, percentile
from bench.workspace import Workspace
from mesh.model.genome import Assembly, canonical_chromosome
from mesh.model.normalize import normalize
from mesh.model.variants import validate_variant
from mesh.v1 import allele_service_pb2
from nodes.index.keys import encode_key
from nodes.serve.store import DatasetIndex

TITLE = "Node over gRPC vs raw LMDB gets"
#: Single LookupVariant p50 over the bare echo server's, timed alternately (#17).
TARGET_ECHO_RATIO = 1.2
TARGET_BATCH = 250_000.0
#: Sequential 1,000-variant batches against in-process tabix of the same variants (#17).
TARGET_BATCH_TABIX = 40.0
BATCH_INFLIGHT = 2


def _floor(ws: Workspace, n_single: int, batch_variants: int) -> tuple[list[float], float]:
    """Per-get latencies and get_many variants/s on the same keys, in this process."""
    sample = ws.dataset().sample
    keys = []
    for a in sample:
        chrom = canonical_chromosome(a.chrom, Assembly.GRCH38)
        keys.append(
            encode_key(normalize(validate_variant(chrom, a.pos, a.ref, a.alt, Assembly.GRCH38)))
        )
    index = DatasetIndex(ws.index())
    try:
        for key in keys:
            index.get(key)
        clock = time.perf_counter
        latencies = []
        for i in range(n_single):
            key = keys[i % len(keys)]
            t0 = clock()
            index.get(key)
            latencies.append(clock() - t0)
        size = ws.settings.batch_size
        batches = [keys[s : s + size] for s in range(0, len(keys) - size + 1, size)]
        done = 0
        t0 = clock()
        while done < batch_variants:
            index.get_many(batches[(done // size) % len(batches)])
            done += size
        rate = done / (clock() - t0)
    finally:
        index.close()
    return latencies, rate


def _batches_and_tabix(
    address: str, tls: TlsFiles | None, batches: list[bytes], ws: Workspace
) -> tuple[client.Timing, list[float], int]:
    """Sequential batch calls and tabix lookups of the batches' variants, in rounds.

    Each round makes its share of the batch calls, then looks up one batch's variants
    with tabix; returns the batch timing, the tabix latencies and how many variants
    tabix looked up (every one must be found).
    """
    s = ws.settings
    data = ws.dataset()
    size = s.batch_size
    rounds = max(1, min(len(batches), s.store_lookups // size))
    per_round = max(1, s.batch_calls // rounds)
    tabix = tabix_baseline.Tabix(data.vcf)
    try:
        queries = [tabix_baseline.queries(data.sample[r * size : (r + 1) * size])
                   for r in range(rounds)]  # fmt: skip
        for prepared in queries:  # warm-up: page cache and code paths
            tabix_baseline.timed(prepared, tabix.find)
        timing = client.Timing([], 0.0)
        tabix_lat: list[float] = []
        found = 0
        clock = time.perf_counter
        with client.sync_channel(address, tls) as channel:
            call = channel.unary_unary(client.SERVICE + "BatchLookupVariants")
            for i in range(5):
                call(batches[i % len(batches)], timeout=30.0)
            n = 0
            for prepared in queries:
                began = clock()
                for _ in range(per_round):
                    t0 = clock()
                    timing.last_response = call(batches[n % len(batches)], timeout=30.0)
                    timing.latencies.append(clock() - t0)
                    n += 1
                timing.wall += clock() - began
                latencies, hits = tabix_baseline.timed(prepared, tabix.find)
                tabix_lat += latencies
                found += hits
    finally:
        tabix.close()
    asked = rounds * size
    if found != asked:
        raise RuntimeError(f"tabix found {found} of {asked} batched variants")
    return timing, tabix_lat, asked


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Start a node, measure single and batch lookups, compare with the floor."""
    s = ws.settings
    data = ws.dataset()
    index = ws.index()
    pki = ws.pki()
    sample = data.sample
    singles = client.lookup_requests(sample)
    batches = client.batch_requests(sample, s.batch_size)
    figure = Figure("node", TITLE)
    with ProcessSet(ws.work / "run" / "node", pki) as procs:
        node = procs.start_node("node-bench", "NO", index)
        echo = procs.start_echo("echo-bench")
        procs.wait_ready([node, echo])
        tls = procs.client_tls()
        check = allele_service_pb2.LookupVariantResponse.FromString(
            client.sequential(
                node.address, tls, "LookupVariant", singles, 1, warmup=0
            ).last_response
        )
        if not check.frequencies:
            raise RuntimeError("the node found nothing for a sampled variant")
        seq, eseq = client.alternating(
            [(node.address, singles), (echo.address, singles)],
            tls,
            "LookupVariant",
            s.single_calls,
            warmup=200,
        )
        cpu0 = node.cpu_seconds()
        par = client.concurrent(
            node.address, tls, "LookupVariant", singles, s.inflight_calls, s.inflight
        )
        cpu_single = (node.cpu_seconds() - cpu0) / s.inflight_calls
        bseq, tabix_lat, batched = _batches_and_tabix(node.address, tls, batches, ws)
        cpu0 = node.cpu_seconds()
        bpar = client.concurrent(
            node.address,
            tls,
            "BatchLookupVariants",
            batches,
            s.batch_calls,
            BATCH_INFLIGHT,
            warmup=5,
        )
        cpu_batch = (node.cpu_seconds() - cpu0) / (s.batch_calls * s.batch_size)
        answer = allele_service_pb2.BatchLookupVariantsResponse.FromString(bpar.last_response)
        if len(answer.results) != s.batch_size:
            raise RuntimeError(f"a batch answered {len(answer.results)} of {s.batch_size}")
        procs.stop([node])
        cpu0 = echo.cpu_seconds()
        epar = client.concurrent(
            echo.address, tls, "LookupVariant", singles, s.inflight_calls, s.inflight
        )
        cpu_echo = (echo.cpu_seconds() - cpu0) / s.inflight_calls
    tabix_rate = batched / sum(tabix_lat)
    floor_lat, floor_batch = _floor(ws, s.single_calls, s.batch_calls * s.batch_size)
    floor_p50 = percentile(floor_lat, 50) * 1e3
    floor_p99 = percentile(floor_lat, 99) * 1e3
    batch_rate = bpar.calls_per_second * s.batch_size
    batch_seq_rate = bseq.calls_per_second * s.batch_size
    p50 = percentile(seq.latencies, 50) * 1e3
    figure.setup = (
        f"Node process `allelemesh node serve` (1 worker, INFO logs to a file) over the "
        f"{data.alleles:,}-allele index; {ws.pki_note}; client in the bench process on "
        f"the same 2-core machine. Sequential: {s.single_calls:,} blocking calls. "
        f"In flight: {s.inflight_calls:,} calls from a grpc.aio client, {s.inflight} at a "
        f"time. Batches: {s.batch_calls} calls of {s.batch_size:,} variants, "
        f"{BATCH_INFLIGHT} in flight. Floor: the same gets on pre-encoded keys in-process. "
        f"Echo server: the same {s.single_calls:,} sequential calls, in blocks of 50 "
        f"alternating with the node's. Tabix: {batched:,} of the batched variants looked up "
        "one at a time in this process (after a warm-up pass), in rounds alternating with "
        "the sequential batch calls."
    )
    figure.extra = {
        "server_cpu_s_per_lookup": cpu_single,
        "server_cpu_s_per_batch_variant": cpu_batch,
        "echo_cpu_s_per_call": cpu_echo,
        "tls": pki is not None,
        "tabix_lookups_per_s": tabix_rate,
    }
    echo_p50 = percentile(eseq.latencies, 50) * 1e3
    figure.rows = [
        Row(
            "LookupVariant p50, sequential, vs the bare echo server",
            p50,
            "ms",
            baseline=echo_p50,
            baseline_label="echo server",
            ratio=p50 / echo_p50,
            ratio_label="of the echo server",
            target=f"≤ {TARGET_ECHO_RATIO:g}x the bare echo server",
            met=p50 / echo_p50 <= TARGET_ECHO_RATIO,
            target_is_ratio=True,
            note="alternating blocks of 50 calls, same client, TLS and server options",
        ),
        Row(
            "LookupVariant p50, sequential",
            p50,
            "ms",
            baseline=floor_p50,
            baseline_label="LMDB get",
            ratio=p50 / floor_p50,
            ratio_label="of the floor",
        ),
        Row(
            "LookupVariant p99, sequential",
            percentile(seq.latencies, 99) * 1e3,
            "ms",
            baseline=floor_p99,
            baseline_label="LMDB get",
            ratio=percentile(seq.latencies, 99) * 1e3 / floor_p99,
            ratio_label="of the floor",
        ),
        Row(
            f"LookupVariant p50, {s.inflight} in flight",
            percentile(par.latencies, 50) * 1e3,
            "ms",
            baseline=floor_p50,
            baseline_label="LMDB get",
            ratio=percentile(par.latencies, 50) * 1e3 / floor_p50,
            ratio_label="of the floor",
        ),
        Row(
            f"LookupVariant p99, {s.inflight} in flight",
            percentile(par.latencies, 99) * 1e3,
            "ms",
            baseline=floor_p99,
            baseline_label="LMDB get",
            ratio=percentile(par.latencies, 99) * 1e3 / floor_p99,
            ratio_label="of the floor",
        ),
        Row(
            f"LookupVariant throughput, {s.inflight} in flight",
            par.calls_per_second,
            "calls/s",
            baseline=1.0 / (sum(floor_lat) / len(floor_lat)),
            baseline_label="LMDB gets/s",
            ratio=(1.0 / (sum(floor_lat) / len(floor_lat))) / par.calls_per_second,
            ratio_label="floor/service",
            note=f"server CPU {cpu_single * 1e6:.0f} µs per call",
        ),
        Row(
            "bare grpc.aio echo server: p50, sequential",
            echo_p50,
            "ms",
            note="the transport floor: same options, TLS and client, no lookup work; "
            f"p99 {percentile(eseq.latencies, 99) * 1e3:.2f} ms",
        ),
        Row(
            f"bare grpc.aio echo server: throughput, {s.inflight} in flight",
            epar.calls_per_second,
            "calls/s",
            baseline=par.calls_per_second,
            baseline_label="node",
            ratio=epar.calls_per_second / par.calls_per_second,
            ratio_label="echo/node",
            note=f"server CPU {cpu_echo * 1e6:.0f} µs per call (node: {cpu_single * 1e6:.0f} µs)",
        ),
        Row(
            f"BatchLookupVariants, {s.batch_size:,} per call, {BATCH_INFLIGHT} in flight",
            batch_rate,
            "variants/s",
            baseline=floor_batch,
            baseline_label="get_many",
            ratio=floor_batch / batch_rate,
            ratio_label="floor/service",
            target=f"≥ {TARGET_BATCH:,.0f} variants/s",
            met=batch_rate >= TARGET_BATCH,
            note=f"server CPU {cpu_batch * 1e6:.2f} µs per variant",
        ),
        Row(
            f"BatchLookupVariants, {s.batch_size:,} per call, sequential",
            batch_seq_rate,
            "variants/s",
            baseline=tabix_rate,
            baseline_label="in-process tabix",
            ratio=batch_seq_rate / tabix_rate,
            ratio_label="tabix",
            target=f"≥ {TARGET_BATCH_TABIX:g}x in-process tabix",
            met=batch_seq_rate / tabix_rate >= TARGET_BATCH_TABIX,
            target_is_ratio=True,
            note=f"p50 {percentile(bseq.latencies, 50) * 1e3:.1f} ms per call; "
            f"get_many floor {floor_batch:,.0f} variants/s "
            f"({floor_batch / batch_seq_rate:.2f}x floor/service)",
        ),
    ]
    return figure
