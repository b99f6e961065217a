"""Figure 7: the gateway's HTTP API on one keep-alive connection, small answers in a row.

The HTTP server (uvicorn, h11, :mod:`gateway.http.protocol`) sets ``TCP_NODELAY`` on
accepted sockets. The baseline is the same app on uvicorn's own h11 protocol over a
listening socket bound with ``proto`` 0, as the gateway bound it before: asyncio then
leaves Nagle on, and each answer (head, then body) waits for the client's delayed ACK.
"""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import uvicorn

from bench.report import Figure, Row, percentile
from bench.workspace import Workspace
from gateway.http.app import create_app, start_http
from gateway.http.backend import GrpcBackend

TITLE = "HTTP API keep-alive latency"
TARGET_MS = 5.0
PATH = "/api/info"  # a small JSON answer that asks no node


class _Listen:
    http_listen = "127.0.0.1:0"
    tls = None


async def _timed(url: str, calls: int) -> list[float]:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(5):
            (await client.get(PATH)).raise_for_status()
        seconds = []
        for _ in range(calls):
            started = time.perf_counter()
            (await client.get(PATH)).raise_for_status()
            seconds.append(time.perf_counter() - started)
    return seconds


async def _measure(calls: int) -> tuple[list[float], list[float]]:
    backend = GrpcBackend("127.0.0.1:1")  # never called: PATH answers from settings
    try:
        server = await start_http(backend, _Listen())
        try:
            gateway = await _timed(server.url, calls)
        finally:
            await server.stop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # proto 0: Nagle stays on
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        config = uvicorn.Config(create_app(backend), http="h11", lifespan="off", log_config=None)
        baseline_server = uvicorn.Server(config)
        task = asyncio.create_task(baseline_server.serve(sockets=[sock]))
        while not baseline_server.started:
            await asyncio.sleep(0.01)
        try:
            baseline = await _timed(f"http://127.0.0.1:{sock.getsockname()[1]}", calls)
        finally:
            baseline_server.should_exit = True
            await task
    finally:
        await backend.close()
    return gateway, baseline


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Sequential GETs on one connection: the gateway's server, then the baseline."""
    calls = 50 if ws.settings.quick else 300
    figure = Figure("http", TITLE)
    figure.setup = (
        f"{calls} sequential `GET {PATH}` on one keep-alive httpx connection over loopback "
        "(after 5 warm-up calls), client and server in the bench process. Baseline: the same "
        "app on uvicorn's plain h11 protocol over a socket bound with proto 0 (Nagle on)."
    )
    gateway, baseline = asyncio.run(_measure(calls))
    p50, base50 = percentile(gateway, 50) * 1000, percentile(baseline, 50) * 1000
    p99, base99 = percentile(gateway, 99) * 1000, percentile(baseline, 99) * 1000
    figure.rows = [
        Row("p50 per request", p50, "ms", baseline=base50, baseline_label="Nagle on",
            ratio=base50 / p50, ratio_label="faster", target=f"≤ {TARGET_MS:g} ms",
            met=p50 <= TARGET_MS),
        Row("p99 per request", p99, "ms", baseline=base99, baseline_label="Nagle on",
            ratio=base99 / p99, ratio_label="faster"),
    ]  # fmt: skip
    return figure
