"""The load loop: N workers on one grpc.aio channel, for a fixed time, then a report."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc

from loadgen._workload import Workload


@dataclass
class LoadReport:
    """What a run did: throughput, latency percentiles (ms), errors by status code."""

    duration_s: float
    concurrency: int
    requests: int
    ok: int
    qps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    by_kind: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        """Calls that did not end OK."""
        return sum(self.errors.values())


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty list)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


async def run_load(
    target: str,
    workload: Workload,
    *,
    duration_s: float,
    concurrency: int,
    timeout_s: float = 5.0,
    max_requests: int = 10_000_000,
    seed: int = 1,
) -> LoadReport:
    """Drive ``target`` for ``duration_s`` with ``concurrency`` calls in flight.

    Bounded twice: by time and by ``max_requests``; every call has a deadline.
    """
    kinds, weights = workload.kinds()
    latencies: list[float] = []
    by_kind: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    issued = 0
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout_s)
        stubs = {}
        started = time.perf_counter()
        stop_at = started + duration_s

        async def worker(index: int) -> None:
            nonlocal issued
            rng = random.Random(seed * 1000 + index)
            while time.perf_counter() < stop_at and issued < max_requests:
                issued += 1
                kind = rng.choices(kinds, weights)[0]
                method, request = workload.request(kind, rng)
                if method not in stubs:
                    stubs[method] = channel.unary_unary(
                        method, request_serializer=lambda m: m.SerializeToString()
                    )
                call_started = time.perf_counter()
                try:
                    await stubs[method](request, timeout=timeout_s)
                except grpc.aio.AioRpcError as error:
                    errors[error.code().name] += 1
                else:
                    latencies.append(time.perf_counter() - call_started)
                by_kind[kind] += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    requests = sum(by_kind.values())
    return LoadReport(
        duration_s=round(elapsed, 3),
        concurrency=concurrency,
        requests=requests,
        ok=len(latencies),
        qps=round(requests / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 2),
        max_ms=round((latencies[-1] if latencies else 0.0) * 1000, 2),
        by_kind=dict(by_kind),
        errors=dict(errors),
    )
