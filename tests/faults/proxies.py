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

from tests.misbehaving_peers import LoopbackProxy

#: HTTP/2 DATA frame type.
_DATA = 0x0


class BlackholeProxy(LoopbackProxy):
    """Accepts every connection, swallows what it is sent, never sends a byte back."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass


class CutProxy(LoopbackProxy):
    """Forwards to ``upstream_port``; cuts each connection in the middle of a response."""

    def __init__(self, upstream_port: int, keep_fraction: float = 0.5) -> None:
        super().__init__()
        self.upstream_port = upstream_port
        self.keep_fraction = keep_fraction
        self.cuts = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await self.open_upstream(self.upstream_port)
        forward = asyncio.create_task(self.forward(reader, up_writer))
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
            self.drop_upstream(up_writer)
