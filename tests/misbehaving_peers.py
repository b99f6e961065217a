"""Misbehaving peers on loopback: a node that answers late, a server that always fails.

* :class:`LoopbackProxy`: the accept loop of a TCP proxy (subclasses say what happens to
  a connection; ``tests/faults/proxies.py`` has more of them).
* :class:`DelayProxy`: holds a node's responses back (a slow node); when the node goes
  away it drops the client connection (a node killed mid-flight).
* :func:`failing_server`: a real gRPC server that answers every call with an error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Self

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

#: HTTP/2 frame types that carry a response (HEADERS, DATA, CONTINUATION).
_RESPONSE_FRAMES = frozenset({0x0, 0x1, 0x9})


class LoopbackProxy:
    """A loopback TCP proxy: the accept loop, connection tracking and ``close()``.

    Subclasses say what happens to one connection in :meth:`handle`;
    :meth:`forward` pumps bytes one way. ``connections`` counts what was accepted.
    """

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop accepting and drop every connection."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            await self.handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # closed by either side or by close(): nothing to report
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
            self._tasks.discard(task)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one accepted connection (the client side is aborted afterwards)."""
        raise NotImplementedError

    async def open_upstream(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to the proxied server; the writer is dropped by ``close()`` too."""
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        self._writers.add(up_writer)
        return up_reader, up_writer

    def drop_upstream(self, up_writer: asyncio.StreamWriter) -> None:
        """Abort the proxied side of a connection."""
        up_writer.transport.abort()
        self._writers.discard(up_writer)

    @staticmethod
    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy ``reader`` to ``writer`` until either side closes."""
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()


class DelayProxy(LoopbackProxy):
    """A loopback TCP proxy to a gRPC server that holds its responses back ``delay_s``.

    Requests pass at once. From the server, HTTP/2 frames that carry responses
    (HEADERS, DATA) reach the client ``delay_s`` late while connection frames
    (SETTINGS, PING, WINDOW_UPDATE) pass at once: the node is slow, its connection
    is healthy. When the server side closes (node killed), the client connection is
    dropped at once with any held-back bytes, as a dead node's would be.
    """

    def __init__(self, upstream_port: int, delay_s: float) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.delay_s = delay_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self.open_upstream(self.upstream_port)
        pumps = [
            asyncio.create_task(self.forward(reader, up_writer)),
            asyncio.create_task(self._delay_responses(up_reader, writer)),
        ]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            self.drop_upstream(up_writer)

    async def _delay_responses(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def release() -> None:
            while True:
                due, frame = await held.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(frame)

        releaser = asyncio.create_task(release())
        try:
            while True:
                header = await reader.readexactly(9)
                payload = await reader.readexactly(int.from_bytes(header[:3], "big"))
                if header[3] in _RESPONSE_FRAMES:
                    held.put_nowait((loop.time() + self.delay_s, header + payload))
                else:
                    writer.write(header + payload)
        except (asyncio.IncompleteReadError, OSError):
            return  # the node went away: drop the client connection with what is held
        finally:
            releaser.cancel()


@contextlib.asynccontextmanager
async def failing_server(
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL, message: str = "boom"
) -> AsyncIterator[int]:
    """A real gRPC server (health SERVING) whose every mesh call aborts with ``code``."""

    class Failing(grpc.GenericRpcHandler):
        def service(self, details: Any) -> Any:
            if not details.method.startswith("/mesh.v1."):
                return None

            async def abort(request: bytes, context: Any) -> bytes:
                await context.abort(code, message)
                return b""

            return grpc.unary_unary_rpc_method_handler(abort)

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((Failing(),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    try:
        yield port
    finally:
        await server.stop(0)
