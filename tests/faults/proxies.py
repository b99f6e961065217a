"""Loopback TCP proxies that misbehave in ways a real network does.

* :class:`BlackholeProxy`: accepts connections and reads them, never answers
  (a node behind a stuck load balancer, a half-dead host).
* :class:`CutProxy`: forwards to a gRPC server, but when a response's first DATA
  frame comes back it forwards only part of that frame and then closes both sides
  (a connection cut mid-response).

Both count what they did (``connections``, ``cuts``), so tests can say a fault was
actually injected. For a slow node see :class:`tests.mesh_harness.DelayProxy`.
"""

from __future__ import annotations

import asyncio
import contextlib

#: HTTP/2 DATA frame type.
_DATA = 0x0


class _Proxy:
    """Accept loop, connection tracking and close(); subclasses handle a connection."""

    def __init__(self) -> None:
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> _Proxy:
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
        raise NotImplementedError


class BlackholeProxy(_Proxy):
    """Accepts every connection, swallows what it is sent, never sends a byte back."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass


class CutProxy(_Proxy):
    """Forwards to ``upstream_port``; cuts each connection in the middle of a response."""

    def __init__(self, upstream_port: int, keep_fraction: float = 0.5) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.keep_fraction = keep_fraction
        self.cuts = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.add(up_writer)
        forward = asyncio.create_task(self._forward(reader, up_writer))
        try:
            while True:
                header = await up_reader.readexactly(9)
                payload = await up_reader.readexactly(int.from_bytes(header[:3], "big"))
                if header[3] == _DATA and payload:
                    keep = max(1, int(len(payload) * self.keep_fraction))
                    writer.write(header + payload[:keep])
                    await writer.drain()
                    self.cuts += 1
                    return  # _accept aborts the client side; finally the upstream side
                writer.write(header + payload)
                await writer.drain()
        finally:
            forward.cancel()
            up_writer.transport.abort()
            self._writers.discard(up_writer)

    @staticmethod
    async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
