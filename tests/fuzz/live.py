"""A real node and the real HTTP API on loopback, in a background event loop.

Synchronous tests (hypothesis, schemathesis) call them over real sockets: gRPC at
``grpc_address``, HTTP at ``http_url``. Built on :mod:`tests.http.harness` (its
datasets, expected counts and node-in-a-thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.http.app import start_http
from gateway.http.backend import GrpcBackend
from mesh.config import DatasetConfig, NodeConfig
from nodes.serve.server import start_node
from tests.http.conftest import ListenConfig
from tests.http.harness import COUNTRY, NODE_ID, build_datasets


@dataclass
class Live:
    """Where the servers listen."""

    grpc_address: str
    http_url: str


@contextmanager
def live_servers(root: Path) -> Iterator[Live]:
    """Node + HTTP API in one background loop; everything stopped on exit."""
    datasets = build_datasets(root)
    config = NodeConfig(
        id=NODE_ID,
        country=COUNTRY,
        listen="127.0.0.1:0",
        datasets=tuple(DatasetConfig(id=i, index=p) for i, p in datasets),
        reload_interval_s=0.0,
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-servers", daemon=True)
    thread.start()

    def run(coro):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    async def start():
        node = await start_node(config, insecure=True)
        backend = GrpcBackend(f"127.0.0.1:{node.port}")
        http = await start_http(backend, ListenConfig())
        return node, backend, http

    try:
        node, backend, http = run(start())
        try:
            yield Live(f"127.0.0.1:{node.port}", http.url)
        finally:
            run(http.stop(1.0))
            run(backend.close())
            run(node.stop(0))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
