"""Figure 7: the gateway's HTTP API: the portal's request through a real mesh, and Nagle.

Part 1, the portal's own call: a node process (``allelemesh node serve``) and a gateway
process (``allelemesh gateway serve`` with ``http_listen``), plaintext on loopback, the
client in the bench process on raw sockets (HTTP/1.1, so the client costs the same on
both sides). The Beacon ``POST /api/g_variants`` body is the portal's (an exact-variant
query: ``start`` a one-element 0-based array, ``limit`` 1, from
``shared/gdi-portal``'s contract) and ``GET /v1/variants/{chrom-pos-ref-alt}`` the JSON
API's, each on one kept connection (how the portal calls) and on a new connection per
request. Server CPU per Beacon request is the gateway's and the node's CPU time
(``/proc``) over the keep-alive run; requests/s at 32 connections is 32 client tasks on
32 kept connections.

Part 2: ``GET /api/info`` in-process on one keep-alive connection. The HTTP server
(uvicorn, h11, :mod:`gateway.http.protocol`) sets ``TCP_NODELAY`` on accepted sockets;
the baseline is the same app on uvicorn's own h11 protocol over a listening socket
bound with ``proto`` 0, as the gateway bound it before: asyncio then leaves Nagle on,
and each answer (head, then body) waits for the client's delayed ACK.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import uvicorn

from bench.procs import ProcessSet, free_port
from bench.report import Figure, Row, percentile
from bench.workspace import Workspace
from gateway.http.app import create_app, start_http
from gateway.http.backend import GrpcBackend

TITLE = "HTTP API: the portal's request, keep-alive and new connections"
TARGET_MS = 5.0
TARGET_KEEP_RATIO = 1.2
TARGET_CPU_MS = 1.5
CONNECTIONS = 32
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


def _portal_body(chrom: str, pos: int, ref: str, alt: str) -> bytes:
    """The portal's exact-variant Beacon request (its generated Java models' defaults)."""
    query = {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "filters": [],
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "testMode": False,
            "pagination": {"skip": 0, "limit": 1},
            "requestParameters": {
                "referenceName": chrom,
                "start": [pos - 1],
                "referenceBases": ref,
                "alternateBases": alt,
                "assemblyId": "GRCh38",
            },
        },
    }
    return json.dumps(query).encode()


def _requests(ws: Workspace, calls: int) -> tuple[list[bytes], list[bytes]]:
    """Beacon POSTs and JSON GETs of sampled variants of the node's file (HTTP/1.1)."""
    sample = ws.node_dataset().sample
    beacon, rest = [], []
    for i in range(calls):
        a = sample[i % len(sample)]
        body = _portal_body(a.chrom, a.pos, a.ref, a.alt)
        beacon.append(
            b"POST /api/g_variants HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json"
            + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        rest.append(f"GET /v1/variants/{a.chrom}-{a.pos}-{a.ref}-{a.alt} HTTP/1.1\r\n"
                    "Host: bench\r\n\r\n".encode())  # fmt: skip
    return beacon, rest


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one answer (head + Content-Length body); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def _kept(port: int, requests: list[bytes]) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    seconds = []
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            if await _answer(reader) != 200:
                raise RuntimeError(f"HTTP answer not 200 to {request[:60]!r}")
            seconds.append(time.perf_counter() - started)
    finally:
        writer.close()
    return seconds


async def _fresh(port: int, requests: list[bytes]) -> list[float]:
    seconds = []
    for request in requests:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            if await _answer(reader) != 200:
                raise RuntimeError(f"HTTP answer not 200 to {request[:60]!r}")
        finally:
            writer.close()
        seconds.append(time.perf_counter() - started)
    return seconds


async def _parallel(port: int, requests: list[bytes]) -> float:
    """Requests per second with 32 kept connections, each with its share, in flight."""
    shares = [requests[i::CONNECTIONS] for i in range(CONNECTIONS)]
    started = time.perf_counter()
    await asyncio.gather(*(_kept(port, share) for share in shares))
    return len(requests) / (time.perf_counter() - started)


def _mesh_rows(ws: Workspace, calls: int) -> list[Row]:
    """The portal's request through a node and a gateway process."""
    beacon, rest = _requests(ws, calls)
    http_port = free_port()
    with ProcessSet(ws.work / "run" / "http", None) as procs:
        node = procs.start_node("http-node", "NO", ws.node_index("http-ds"), log_level="WARNING")
        gateway = procs.start_gateway("http-gw", [node], http_listen=f"127.0.0.1:{http_port}")
        procs.wait_ready([node, gateway])
        asyncio.run(_kept(http_port, beacon[:20] + rest[:20]))  # warm-up
        cpu0 = node.cpu_seconds() + gateway.cpu_seconds()
        beacon_keep = asyncio.run(_kept(http_port, beacon))
        cpu = (node.cpu_seconds() + gateway.cpu_seconds() - cpu0) / len(beacon)
        beacon_new = asyncio.run(_fresh(http_port, beacon))
        rest_keep = asyncio.run(_kept(http_port, rest))
        rest_new = asyncio.run(_fresh(http_port, rest))
        rps = asyncio.run(_parallel(http_port, beacon * 2))
    rows = []
    for name, keep, new in (("Beacon POST /api/g_variants", beacon_keep, beacon_new),
                            ("JSON GET /v1/variants", rest_keep, rest_new)):  # fmt: skip
        k50, n50 = percentile(keep, 50) * 1000, percentile(new, 50) * 1000
        rows += [
            Row(f"{name}: p50, keep-alive", k50, "ms", baseline=n50,
                baseline_label="new connection", ratio=k50 / n50, ratio_label="of new",
                target=f"≤ {TARGET_KEEP_RATIO:g}x a new connection",
                met=k50 / n50 <= TARGET_KEEP_RATIO, target_is_ratio=True,
                note=f"p99 {percentile(keep, 99) * 1000:.1f} ms"),
            Row(f"{name}: p50, new connection", n50, "ms",
                note=f"p99 {percentile(new, 99) * 1000:.1f} ms"),
        ]  # fmt: skip
    rows += [
        Row("server CPU per Beacon request (gateway + node)", cpu * 1000, "ms",
            target=f"≤ {TARGET_CPU_MS:g} ms", met=cpu * 1000 <= TARGET_CPU_MS,
            note=f"CPU time of both processes over {len(beacon)} keep-alive requests"),
        Row(f"Beacon requests/s, {CONNECTIONS} connections", rps, "requests/s",
            note="client, gateway and node on the same 2 cores"),
    ]  # fmt: skip
    return rows


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """The portal's request through a mesh; then Nagle's baseline in-process."""
    calls = 50 if ws.settings.quick else 300
    figure = Figure("http", TITLE)
    figure.setup = (__doc__ or "").split("\n\n", 1)[1].replace("\n", " ") + (
        f" Part 1: {calls} requests per measure. Part 2: {calls} sequential `GET {PATH}` "
        "(after 5 warm-up calls)."
    )
    mesh_rows = _mesh_rows(ws, calls)
    gateway, baseline = asyncio.run(_measure(calls))
    p50, base50 = percentile(gateway, 50) * 1000, percentile(baseline, 50) * 1000
    p99, base99 = percentile(gateway, 99) * 1000, percentile(baseline, 99) * 1000
    figure.rows = [
        *mesh_rows,
        Row("/api/info p50, keep-alive", p50, "ms", baseline=base50, baseline_label="Nagle on",
            ratio=base50 / p50, ratio_label="faster", target=f"≤ {TARGET_MS:g} ms",
            met=p50 <= TARGET_MS),
        Row("/api/info p99, keep-alive", p99, "ms", baseline=base99, baseline_label="Nagle on",
            ratio=base99 / p99, ratio_label="faster"),
    ]  # fmt: skip
    return figure
