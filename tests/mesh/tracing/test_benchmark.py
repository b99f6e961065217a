"""Interceptor cost per RPC, printed (not asserted): ``pytest tests/mesh/tracing -k bench -s``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import grpc

from mesh.tracing._server import TracingServerInterceptor
from tests.mesh.tracing.helpers import PING, make_telemetry

ROOT = Path(__file__).resolve().parents[3]


class FakeContext:
    """Just what the interceptor's wrapper touches."""

    def invocation_metadata(self):
        return (("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),)

    def set_trailing_metadata(self, metadata) -> None:
        return None

    def code(self):
        return grpc.StatusCode.OK


async def echo(request: bytes, context) -> bytes:
    return request


async def per_call_us(behavior, calls: int) -> float:
    context = FakeContext()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(calls):
            await behavior(b"x", context)
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def server_cpu_us_per_rpc(mode: str, calls: int = 3000, concurrency: int = 16) -> float:
    """Server-process CPU per echo RPC: robust to other load on the machine, unlike wall time."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.mesh.tracing.bench_server", mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(server.stdout.readline())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            ping = channel.unary_unary(PING)

            async def caller(n: int) -> None:
                for _ in range(n):
                    await ping(b"x", timeout=10)

            await caller(300)  # warm up
            before = cpu_seconds(server.pid)
            await asyncio.gather(*(caller(calls // concurrency) for _ in range(concurrency)))
            return (cpu_seconds(server.pid) - before) / calls * 1e6
    finally:
        server.kill()
        server.wait()


async def test_bench_interceptor_cost(capsys):
    telemetry = make_telemetry()
    wrapped = TracingServerInterceptor(telemetry)._wrap(PING, echo)
    bare_us = await per_call_us(echo, 5_000)
    traced_us = await per_call_us(wrapped, 5_000)
    cpu = {mode: await server_cpu_us_per_rpc(mode) for mode in ("off", "on")}
    with capsys.disabled():
        print(
            f"\n[bench] tracing at sample ratio 1.0: wrapper {traced_us - bare_us:.1f} us/RPC "
            f"in-process (span, buffer, metrics, propagation); echo-RPC server CPU "
            f"off {cpu['off']:.0f} us, on {cpu['on']:.0f} us "
            f"(throughput bound {cpu['off'] / cpu['on']:.0%} of off for an empty RPC)"
        )
    assert len(telemetry.buffer) > 0
