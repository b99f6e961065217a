"""Figure 3: gateway fan-out to N node processes on loopback, and one stalled node.

27 small nodes start once (each ``allelemesh node serve`` over its own small index,
same variants under a different dataset id and country); for each N a gateway
(``allelemesh gateway serve``) is started over the first N of them and timed with
sequential LookupVariant calls from this process. The baseline is the same calls made
directly to one node. mTLS and tracing are on where the code has them. The target is the
gateway's CPU per lookup per peer at N = 27 (its process CPU time from ``/proc`` over
the timed calls, divided by the calls and by N); the p50s are informational here: on
2 cores the 27 nodes' own CPU bounds them (the WAN figure times the fan-out's latency).

Stalled node: the last node gets SIGSTOP (its sockets stay open, it answers nothing);
every answer must arrive within the gateway's per-peer deadline plus 50 ms with N-1 OK
outcomes. Every node gets SIGCONT and SIGTERM when the figure ends, whatever happened.
"""

from __future__ import annotations

import time

import grpc

from bench import client
from bench.procs import ProcessSet, Server, tracing_support
from bench.report import Figure, Row, percentile
from bench.workspace import Workspace
from mesh.v1 import allele_service_pb2

TITLE = "Gateway fan-out to N nodes"
#: Gateway process CPU per fan-out lookup, divided by the number of peers, at N = 27 (#17).
TARGET_CPU_MS_PER_PEER = 0.2
TARGET_N = 27
STALL_SLACK_MS = 50.0
#: Two-letter codes of the simulated countries (any ISO 3166-1 alpha-2 codes work).
COUNTRIES = (
    "NO", "FI", "SE", "DK", "IS", "EE", "LV", "LT", "PL", "DE", "NL", "BE", "LU", "FR",
    "ES", "PT", "IT", "SI", "HR", "AT", "CZ", "SK", "HU", "RO", "BG", "GR", "CY",
)  # fmt: skip


def outcomes(response: bytes) -> tuple[int, int]:
    """``(ok outcomes, all outcomes)`` of a LookupVariantResponse."""
    message = allele_service_pb2.LookupVariantResponse.FromString(response)
    ok = sum(1 for o in message.outcomes if o.status.code == 0)
    return ok, len(message.outcomes)


def _start_nodes(
    ws: Workspace, procs: ProcessSet, count: int, tracing: bool | None
) -> list[Server]:
    nodes = []
    for i in range(count):
        index = ws.node_index(f"ds-{i + 1:02d}")
        country = COUNTRIES[i % len(COUNTRIES)]
        nodes.append(procs.start_node(f"node-{i + 1:02d}-{country.lower()}", country, index,
                                      tracing=tracing))  # fmt: skip
    procs.wait_ready(nodes, timeout_s=60.0 + 5.0 * count)
    return nodes


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Time the gateway at every N, then with one node stalled."""
    s = ws.settings
    sizes = s.fanout_sizes
    traced, tracing_note = tracing_support()
    tracing = True if traced else None
    pki = ws.pki()
    requests = client.lookup_requests(ws.node_dataset().sample[:500])
    calls = s.fanout_calls
    figure = Figure("gateway", TITLE)
    figure.setup = (
        f"Nodes: `allelemesh node serve` processes over {ws.settings.node_alleles:,}-allele "
        f"indexes; gateway: `allelemesh gateway serve`; {ws.pki_note}; tracing: "
        f"{'on, ' + tracing_note if traced else 'off (' + tracing_note + ')'}. "
        f"{calls} sequential LookupVariant calls per N after 20 warm-up calls, every "
        f"process on the same 2 cores. Baseline: the same calls straight to one node."
    )
    rows: list[Row] = []
    with ProcessSet(ws.work / "run" / "gateway", pki) as procs:
        t0 = time.monotonic()
        nodes = _start_nodes(ws, procs, max(sizes), tracing)
        startup = time.monotonic() - t0
        tls = procs.client_tls()
        direct = client.sequential(nodes[0].address, tls, "LookupVariant", requests, calls,
                                   warmup=20)  # fmt: skip
        direct_p50 = percentile(direct.latencies, 50) * 1e3
        direct_p99 = percentile(direct.latencies, 99) * 1e3
        rows.append(Row("direct call to one node, p50", direct_p50, "ms",
                        note=f"p99 {direct_p99:.2f} ms; {max(sizes)} nodes started in "
                        f"{startup:.1f} s"))  # fmt: skip
        for n in sizes:
            gateway = procs.start_gateway(f"gateway-{n}", nodes[:n], tracing=tracing)
            procs.wait_ready([gateway])
            client.sequential(gateway.address, tls, "LookupVariant", requests, 20, warmup=0)
            cpu0 = gateway.cpu_seconds(), sum(x.cpu_seconds() for x in nodes[:n])
            timing = client.sequential(gateway.address, tls, "LookupVariant", requests, calls,
                                       warmup=0)  # fmt: skip
            gateway_cpu = (gateway.cpu_seconds() - cpu0[0]) / calls * 1e3
            nodes_cpu = (sum(x.cpu_seconds() for x in nodes[:n]) - cpu0[1]) / calls * 1e3
            ok, total = outcomes(timing.last_response)
            p50 = percentile(timing.latencies, 50) * 1e3
            p99 = percentile(timing.latencies, 99) * 1e3
            per_peer = gateway_cpu / n
            figure.extra[f"gateway_cpu_s_per_lookup_n{n}"] = gateway_cpu / 1e3
            target = f"≤ {TARGET_CPU_MS_PER_PEER:g} ms" if n == TARGET_N else ""
            rows.append(Row(f"N = {n}: p50", p50, "ms", baseline=direct_p50,
                            baseline_label="direct", ratio=p50 / direct_p50,
                            ratio_label="of direct",
                            note=f"{ok}/{total} OK outcomes (expected {n}); CPU per call: "
                            f"gateway {gateway_cpu:.1f} ms, nodes {nodes_cpu:.1f} ms"))  # fmt: skip
            rows.append(Row(f"N = {n}: p99", p99, "ms", baseline=direct_p99,
                            baseline_label="direct", ratio=p99 / direct_p99,
                            ratio_label="of direct"))  # fmt: skip
            rows.append(Row(f"N = {n}: gateway CPU per lookup per peer", per_peer, "ms",
                            target=target,
                            met=(per_peer <= TARGET_CPU_MS_PER_PEER) if target else None,
                            note=f"gateway process CPU {gateway_cpu:.2f} ms per lookup "
                            f"over {calls} calls / {n} peers"))  # fmt: skip
            procs.stop([gateway])
        if TARGET_N not in sizes:
            rows.append(Row.not_measured(f"N = {TARGET_N}: gateway CPU per lookup per peer",
                                         "quick mode runs N = " + ", ".join(map(str, sizes)),
                                         target=f"≤ {TARGET_CPU_MS_PER_PEER:g} ms"))  # fmt: skip
        rows += _stalled(ws, procs, nodes, requests, tracing)
    figure.rows = rows
    return figure


def _stalled(
    ws: Workspace,
    procs: ProcessSet,
    nodes: list[Server],
    requests: list[bytes],
    tracing: bool | None,
) -> list[Row]:
    """SIGSTOP the last node; every answer within deadline + slack, N-1 OK outcomes."""
    s = ws.settings
    deadline_ms = s.stall_deadline_ms
    n = len(nodes)
    gateway = procs.start_gateway("gateway-stalled", nodes, timeout_ms=deadline_ms,
                                  tracing=tracing)  # fmt: skip
    procs.wait_ready([gateway])
    tls = procs.client_tls()
    stalled = nodes[-1]
    latencies: list[float] = []
    oks: list[int] = []
    errors = 0
    with client.sync_channel(gateway.address, tls) as channel:
        call = channel.unary_unary(client.SERVICE + "LookupVariant")
        for i in range(5):
            call(requests[i], timeout=10.0)
        stalled.stall()
        try:
            for i in range(s.stall_calls):
                t0 = time.perf_counter()
                try:
                    response = call(requests[i % len(requests)], timeout=deadline_ms / 1e3 + 5.0)
                except grpc.RpcError:
                    errors += 1
                    latencies.append(time.perf_counter() - t0)
                    oks.append(0)
                    continue
                latencies.append(time.perf_counter() - t0)
                oks.append(outcomes(response)[0])
        finally:
            stalled.resume()
    procs.stop([gateway])
    worst = max(latencies) * 1e3
    limit = deadline_ms + STALL_SLACK_MS
    return [
        Row(f"1 of {n} stalled: slowest answer", worst, "ms", baseline=float(deadline_ms),
            baseline_label="deadline", ratio=worst / deadline_ms, ratio_label="of deadline",
            target=f"≤ deadline + {STALL_SLACK_MS:.0f} ms ({limit:.0f} ms)", met=worst <= limit,
            note=f"{s.stall_calls} sequential calls; p50 "
            f"{percentile(latencies, 50) * 1e3:.1f} ms; {errors} failed calls"),
        Row(f"1 of {n} stalled: fewest OK outcomes", float(min(oks)), "", baseline=float(n - 1),
            baseline_label="expected", target=f"{n - 1} OK outcomes every time",
            met=min(oks) >= n - 1 and errors == 0),
    ]  # fmt: skip
