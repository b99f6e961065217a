"""Figure: the gateway over 9 WAN links of 5-45 ms, against its slowest link alone.

Nine ``allelemesh node serve`` processes (three of 1-3 ms with ``--quick``) over small
indexes, each behind one link of :mod:`bench.wan_proxy` (a TCP proxy in its own process
that delays every chunk by the link's one-way delay in each direction, so a call on an
open HTTP/2 connection pays twice the delay). The gateway's peers are the proxies'
addresses; mTLS passes through the proxy (the node certificates name 127.0.0.1, the
proxies' host). No ``netem``: the loopback is shared with other work.

Target: the gateway's p50 over every link at most 1.1x the p50 of the same
LookupVariant calls made straight to the node behind the slowest link, through its
proxy; the two are timed in alternating blocks of 20 calls in the same minute.
"""

from __future__ import annotations

from dataclasses import replace

from bench import client
from bench.figures.gateway import COUNTRIES, outcomes
from bench.procs import ProcessSet
from bench.report import Figure, Row, percentile
from bench.workspace import Workspace

TITLE = "Gateway over WAN links vs its slowest link"
TARGET_RATIO = 1.1
BLOCK = 20


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Nine nodes behind delayed links; the gateway against its slowest link."""
    s = ws.settings
    delays = sorted(s.wan_delays_ms)
    requests = client.lookup_requests(ws.node_dataset().sample[:500])
    pki = ws.pki()
    figure = Figure("wan", TITLE)
    figure.setup = (__doc__ or "").split("\n\n", 1)[1].replace("\n", " ") + (
        f" This run: {len(delays)} links of "
        f"{', '.join(f'{d:g}' for d in delays)} ms one-way, {s.wan_calls} sequential calls "
        f"to each side after 20 warm-up calls; {ws.pki_note}."
    )
    with ProcessSet(ws.work / "run" / "wan", pki) as procs:
        nodes = []
        for i in range(len(delays)):
            country = COUNTRIES[i % len(COUNTRIES)]
            index = ws.node_index(f"wan-{i + 1:02d}")
            nodes.append(procs.start_node(f"wan-node-{i + 1:02d}-{country.lower()}", country,
                                          index, log_level="WARNING"))  # fmt: skip
        procs.wait_ready(nodes, timeout_s=60.0 + 5.0 * len(nodes))
        pairs = zip(nodes, delays, strict=True)
        links = procs.start_proxy("wan-proxy", [(n.address, d / 1e3) for n, d in pairs])
        # The gateway dials the proxies: same names and countries, the links' addresses.
        peers = [replace(n, address=link) for n, link in zip(nodes, links, strict=True)]
        gateway = procs.start_gateway("wan-gateway", peers, timeout_ms=5000)
        procs.wait_ready([gateway])
        tls = procs.client_tls()
        through_gateway, slowest = client.alternating(
            [(gateway.address, requests), (links[-1], requests)],
            tls,
            "LookupVariant",
            s.wan_calls,
            block=BLOCK,
            warmup=20,
        )
        ok, total = outcomes(through_gateway.last_response)
    if ok != len(delays):
        raise RuntimeError(f"the gateway's last answer had {ok}/{total} OK outcomes")
    g50, g99 = (percentile(through_gateway.latencies, q) * 1e3 for q in (50, 99))
    s50, s99 = (percentile(slowest.latencies, q) * 1e3 for q in (50, 99))
    slowest_label = f"{delays[-1]:g} ms link alone"
    figure.rows = [
        Row(f"gateway over {len(delays)} links: p50", g50, "ms", baseline=s50,
            baseline_label=slowest_label, ratio=g50 / s50, ratio_label="of the slowest link",
            target=f"≤ {TARGET_RATIO:g}x the slowest link's p50",
            met=g50 / s50 <= TARGET_RATIO, target_is_ratio=True,
            note=f"{ok}/{total} OK outcomes in the last answer; links "
            f"{delays[0]:g}-{delays[-1]:g} ms one-way"),
        Row(f"gateway over {len(delays)} links: p99", g99, "ms", baseline=s99,
            baseline_label=slowest_label, ratio=g99 / s99, ratio_label="of the slowest link"),
        Row(f"slowest link alone ({delays[-1]:g} ms one-way): p50", s50, "ms",
            baseline=2 * delays[-1], baseline_label="2 x the delay",
            ratio=s50 / (2 * delays[-1]), ratio_label="of the round trip",
            note="LookupVariant straight to its node, through its proxy"),
    ]  # fmt: skip
    return figure
