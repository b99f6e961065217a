"""A bounded load generator for an allelemesh gateway (or node), on grpc.aio.

It drives a mixed workload (single lookups, batches, region pages) for a fixed time
at a fixed concurrency, and reports throughput, latency percentiles and errors by
status code; :class:`RssSampler` samples the resident memory of any processes meanwhile::

    from loadgen import Workload, run_load
    workload = Workload(variants=[("1", 55051215, "G", "A")], regions=[("1", 1, 100_000)])
    report = asyncio.run(run_load("127.0.0.1:50051", workload, duration_s=10, concurrency=16))
    print(report.qps, report.p50_ms, report.p99_ms, report.errors)

Command line (bounded by ``--duration`` and ``--max-requests``)::

    python -m loadgen --target 127.0.0.1:50051 --variant 1-55051215-G-A
        --region 1:1-100000 --duration 10 --concurrency 16 [--pid PID ...] [--json]

Nothing here is needed to run a mesh; it only needs the generated ``mesh.v1`` stubs.
"""

from loadgen._rss import RssSampler, rss_kib
from loadgen._runner import LoadReport, run_load
from loadgen._workload import Workload

__all__ = ["LoadReport", "RssSampler", "Workload", "rss_kib", "run_load"]
