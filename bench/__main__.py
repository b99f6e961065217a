"""``python -m bench``: measure every figure against its baseline, write the report.

    python -m bench                 # full run (~1M alleles; under 15 minutes on 2 cores)
    python -m bench --quick         # CI smoke test: small data, few iterations
    python -m bench --only node     # one figure (repeatable)
    python -m bench --out DIR       # write DIR/BENCHMARKS.md and DIR/bench/results.json

A figure that fails or depends on an unfinished part is reported as "not measured"
with the reason; the run itself only fails on a bench bug.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.figures import FIGURES
from bench.procs import REPO
from bench.report import Figure, Row
from bench.workspace import Settings, Workspace, machine

log = logging.getLogger("bench")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data, few iterations (CI)")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO,
        help="where BENCHMARKS.md and bench/results.json go (default: the repository root)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(FIGURES),
        metavar="FIGURE",
        help=f"run only this figure (repeatable): {', '.join(FIGURES)}",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="cache of generated data and indexes (default bench/.work)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the figures and write the outputs; returns the exit code."""
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every started server is stopped in its finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_before = os.getloadavg()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s")
    logging.getLogger("nodes").setLevel(logging.WARNING)
    settings = Settings.smoke() if args.quick else Settings.full()
    work = (args.work or REPO / "bench" / ".work").absolute() / ("quick" if args.quick else "full")
    ws = Workspace(work, settings)
    markdown = args.out / "BENCHMARKS.md"
    results = args.out / "bench" / "results.json"
    wanted = args.only or list(FIGURES)
    started = time.monotonic()
    done: dict[str, Figure] = {}
    if args.only:  # keep the other figures of the last run in the report
        done.update({k: v for k, v in report.load(results).items() if k not in wanted})
    for key in FIGURES:
        if key not in wanted:
            continue
        module = FIGURES[key]
        log.info("figure %s: %s", key, module.TITLE)
        t0 = time.monotonic()
        try:
            figure = module.run(ws, done)
        except Exception as exc:  # one broken figure must not lose the others
            log.error("figure %s failed:\n%s", key, traceback.format_exc())
            figure = Figure(key, module.TITLE, error=f"{type(exc).__name__}: {exc}")
            figure.rows = [Row.not_measured("figure", f"failed: {type(exc).__name__}: {exc}")]
        figure.seconds = time.monotonic() - t0
        done[key] = figure
        for row in figure.rows:
            log.info("  %s: %s %s %s", row.metric, row.value, row.unit, row.note)
    figures = [done[k] for k in FIGURES if k in done]
    data = ws.dataset()
    meta = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": time.monotonic() - started,
        "quick": args.quick,
        "only": args.only or [],
        "machine": machine(),
        "data": (
            f"generated gnomAD-v4-like sites VCF, seed {data.spec.seed}: {data.records:,} "
            f"records, {data.alleles:,} alleles on {data.contigs} contigs, "
            f"{len(data.spec.populations)} populations x XX/XY, {data.bytes / 1e6:.0f} MB "
            "bgzipped + tabix"
        ),
        "transport": (ws.pki(), ws.pki_note)[1],
        "load_average": {"before": load_before[0], "after": os.getloadavg()[0]},
        "settings": settings.__dict__,
    }
    report.write(figures, meta, markdown, results)
    log.info("wrote %s and %s", markdown, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
