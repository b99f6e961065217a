"""Figure 5: batch throughput of a node with tracing on (sample ratio 1.0) over off.

Skipped, with the reason, until ``mesh.config`` accepts the ``[tracing]`` table the
bench writes (:data:`bench.procs.TRACING_TOML`); then it runs with no change here.
"""

from __future__ import annotations

from bench import client
from bench.procs import TRACING_OFF_TOML, TRACING_TOML, ProcessSet, tracing_support
from bench.report import Figure, Row
from bench.workspace import Workspace

TITLE = "Tracing cost"
TARGET_RATIO = 0.9
INFLIGHT = 2


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Same node, same batches, tracing off then on."""
    s = ws.settings
    figure = Figure("tracing", TITLE)
    metric = "batch throughput, tracing on / off"
    target = f"≥ {TARGET_RATIO}"
    ok, why = tracing_support()
    figure.setup = (
        f"Two node processes over the same index, one with `{TRACING_TOML.strip()}` "
        f"(on), one with `{TRACING_OFF_TOML.strip()}` (off), timed with the node figure's batches "
        f"({s.batch_calls} calls of {s.batch_size:,}, {INFLIGHT} in flight)."
    )
    if not ok:
        figure.rows = [Row.not_measured(metric, why, target)]
        return figure
    batches = client.batch_requests(ws.dataset().sample, s.batch_size)
    rates: dict[bool, float] = {}
    with ProcessSet(ws.work / "run" / "tracing", ws.pki()) as procs:
        for traced in (False, True):
            node = procs.start_node(f"node-tracing-{int(traced)}", "NO", ws.index(),
                                    tracing=traced)  # fmt: skip
            procs.wait_ready([node])
            timing = client.concurrent(node.address, procs.client_tls(), "BatchLookupVariants",
                                       batches, s.batch_calls, INFLIGHT, warmup=5)  # fmt: skip
            rates[traced] = timing.calls_per_second * s.batch_size
            procs.stop([node])
    ratio = rates[True] / rates[False]
    figure.rows = [
        Row(metric, ratio, "", target=target, met=ratio >= TARGET_RATIO,
            note=f"on {rates[True]:,.0f} variants/s, off {rates[False]:,.0f} variants/s"),
        Row("batch throughput, tracing on", rates[True], "variants/s", baseline=rates[False],
            baseline_label="tracing off", ratio=ratio, ratio_label="of off"),
    ]  # fmt: skip
    return figure
