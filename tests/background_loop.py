"""Real servers on an asyncio loop in a background thread, for tests that call them blocking.

Synchronous tests (blocking gRPC stubs, hypothesis, schemathesis, a browser) cannot run
the servers on their own thread's loop: the servers run on a loop of their own in a
daemon thread, and tests talk to them over real sockets on ephemeral loopback ports,
exactly as a remote client would. Typical use::

    with running_node(node_config([("no-ds", index)])) as node:
        stub = AlleleFrequencyServiceStub(node.channel())

    with background_loop("my-servers") as loop:   # several servers on one loop
        node = loop.run(start_node(config, insecure=True))
        ...
        loop.run(node.stop(0))
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc

from mesh.config import DatasetConfig, NodeConfig
from nodes.serve.server import RunningNode, start_node

T = TypeVar("T")


class BackgroundLoop:
    """An event loop running in a daemon thread; :meth:`run` blocks for a coroutine's result."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the background loop and return its result (or raise its error)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


@contextmanager
def background_loop(name: str) -> Iterator[BackgroundLoop]:
    """A fresh loop in a thread called ``name``; stopped, joined and closed on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=name, daemon=True)
    thread.start()
    try:
        yield BackgroundLoop(loop)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        if not thread.is_alive():
            loop.close()


@dataclass
class NodeHandle:
    """A running node: its address, and a way to run coroutines on its loop."""

    address: str
    node: RunningNode
    loop: BackgroundLoop

    @property
    def port(self) -> int:
        """The node's gRPC port on 127.0.0.1."""
        return self.node.port

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the node's loop and return its result."""
        return self.loop.run(coro, timeout)

    def reload(self) -> list[str]:
        """Ask the node to pick up rebuilt indexes now (as SIGHUP does)."""

        async def _reload() -> list[str]:
            return self.node.reload()

        return self.call(_reload())

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
    """A NodeConfig on an ephemeral loopback port serving ``(dataset id, index dir)`` pairs."""
    return NodeConfig(
        id=node_id,
        country=country,
        listen="127.0.0.1:0",
        datasets=tuple(DatasetConfig(id=i, index=p) for i, p in datasets),
        reload_interval_s=reload_interval_s,
        **extra,  # type: ignore[arg-type]
    )


@contextmanager
def running_node(config: NodeConfig, *, thread_name: str = "test-node") -> Iterator[NodeHandle]:
    """Start a node (plaintext) in a background loop; stop it on exit."""
    with background_loop(thread_name) as loop:
        node = loop.run(start_node(config, insecure=True), 30)
        try:
            yield NodeHandle(f"127.0.0.1:{node.port}", node, loop)
        finally:
            loop.run(node.stop(grace=1.0), 30)
