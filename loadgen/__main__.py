"""``python -m loadgen``: drive a gateway or node for a fixed time, print a report."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict

from loadgen._rss import RssSampler
from loadgen._runner import run_load
from loadgen._workload import RegionTuple, VariantTuple, Workload


def _variant(text: str) -> VariantTuple:
    chrom, pos, ref, alt = text.split("-")
    return (chrom, int(pos), ref, alt)


def _region(text: str) -> RegionTuple:
    chrom, span = text.split(":")
    start, end = span.split("-")
    return (chrom, int(start), int(end))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the load, print the report; exit 1 if any call failed."""
    parser = argparse.ArgumentParser(prog="python -m loadgen", description=__doc__)
    parser.add_argument("--target", required=True, help="HOST:PORT of a gateway or node")
    parser.add_argument(
        "--variant",
        action="append",
        type=_variant,
        required=True,
        help="CHROM-POS-REF-ALT (repeatable)",
    )
    parser.add_argument(
        "--region", action="append", type=_region, default=[], help="CHROM:START-END (repeatable)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=5.0, help="deadline of each call")
    parser.add_argument("--pid", type=int, action="append", default=[], help="sample RSS")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    workload = Workload(variants=args.variant, regions=args.region)
    with RssSampler(args.pid) as rss:
        report = asyncio.run(
            run_load(
                args.target,
                workload,
                duration_s=args.duration,
                concurrency=args.concurrency,
                timeout_s=args.timeout,
                max_requests=args.max_requests,
            )
        )
    result = asdict(report)
    result["rss_kib"] = {str(pid): rss.growth(pid) for pid in args.pid}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{report.requests} requests in {report.duration_s} s: {report.qps} QPS, "
            f"p50 {report.p50_ms} ms, p99 {report.p99_ms} ms, errors {report.errors or 0}"
        )
        for pid, (early, late) in result["rss_kib"].items():
            print(f"pid {pid}: RSS {early} KiB after warm-up, {late} KiB at the end")
    return 1 if report.error_count else 0


if __name__ == "__main__":
    sys.exit(main())
