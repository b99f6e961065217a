"""A real node and the real HTTP API on loopback, in a background event loop.

Synchronous tests (hypothesis, schemathesis) call them over real sockets: gRPC at
``grpc_address``, HTTP at ``http_url``. Built on :mod:`tests.gateway.http.harness` (its
datasets and expected counts) and :mod:`tests.background_loop`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gateway.http.app import start_http
from gateway.http.backend import GrpcBackend
from nodes.serve.server import start_node
from tests.background_loop import background_loop, node_config
from tests.gateway.http.conftest import ListenConfig
from tests.gateway.http.harness import COUNTRY, NODE_ID, build_datasets


@dataclass
class Live:
    """Where the servers listen."""

    grpc_address: str
    http_url: str


@contextmanager
def live_servers(root: Path) -> Iterator[Live]:
    """Node + HTTP API in one background loop; everything stopped on exit."""
    config = node_config(build_datasets(root), node_id=NODE_ID, country=COUNTRY)

    async def start():
        node = await start_node(config, insecure=True)
        backend = GrpcBackend(f"127.0.0.1:{node.port}")
        http = await start_http(backend, ListenConfig())
        return node, backend, http

    with background_loop("fuzz-servers") as loop:
        node, backend, http = loop.run(start())
        try:
            yield Live(f"127.0.0.1:{node.port}", http.url)
        finally:
            loop.run(http.stop(1.0))
            loop.run(backend.close())
            loop.run(node.stop(0))
