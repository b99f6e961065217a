"""A real node server in a background thread, for tests that use blocking stubs.

The node runs its own asyncio loop in a daemon thread; tests talk to it over real
gRPC on an ephemeral loopback port, exactly as a remote client would.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from mesh.config import DatasetConfig, NodeConfig
from nodes.serve.server import RunningNode, start_node


@dataclass
class NodeHandle:
    """A running node: its address, and a way to run coroutines on its loop."""

    address: str
    node: RunningNode
    loop: asyncio.AbstractEventLoop

    def call(self, coro: object, timeout: float = 30.0) -> object:
        """Run a coroutine on the node's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def reload(self) -> list[str]:
        """Ask the node to pick up rebuilt indexes now (as SIGHUP does)."""

        async def _reload() -> list[str]:
            return self.node.reload()

        return self.call(_reload())  # type: ignore[return-value]

    def channel(self) -> grpc.Channel:
        """A fresh plaintext channel to the node."""
        return grpc.insecure_channel(self.address)


def node_config(
    datasets: list[tuple[str, Path]],
    *,
    node_id: str = "no-oslo-1",
    country: str = "NO",
    reload_interval_s: float = 0.0,
    **extra: object,
) -> NodeConfig:
    """A NodeConfig on an ephemeral loopback port."""
    return NodeConfig(
        id=node_id,
        country=country,
        listen="127.0.0.1:0",
        datasets=tuple(DatasetConfig(id=i, index=p) for i, p in datasets),
        reload_interval_s=reload_interval_s,
        **extra,  # type: ignore[arg-type]
    )


@contextmanager
def running_node(config: NodeConfig) -> Iterator[NodeHandle]:
    """Start a node in a background thread; stop it on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-node", daemon=True)
    thread.start()
    try:
        node = asyncio.run_coroutine_threadsafe(start_node(config, insecure=True), loop).result(30)
        handle = NodeHandle(f"127.0.0.1:{node.port}", node, loop)
        try:
            yield handle
        finally:
            asyncio.run_coroutine_threadsafe(node.stop(grace=1.0), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
