"""A TCP proxy that delays every chunk by a link's one-way delay, in each direction.

The WAN figure puts one of these between the gateway and each node instead of root
``netem`` on the shared loopback (which would slow every other process on the machine).
Each accepted connection opens one to the target; per direction a reader stamps every
chunk it receives with ``arrival + delay`` and a writer forwards the chunks in order,
each no earlier than its stamp. Chunks are pipelined (a burst is delayed once, not once
per chunk), bytes and their order are kept, and an end of stream is forwarded after the
same delay. TLS passes through untouched: the proxy only sees ciphertext.

``python -m bench.wan_proxy LISTEN=TARGET@DELAY_MS ...`` serves one link per argument
(``127.0.0.1:5001=127.0.0.1:6001@45``) until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Link:
    """Listen on ``listen`` (``host:port``), forward to ``target``, ``delay_s`` each way."""

    listen: str
    target: str
    delay_s: float

    @classmethod
    def parse(cls, text: str) -> Link:
        """``LISTEN=TARGET@DELAY_MS``."""
        listen, _, rest = text.partition("=")
        target, _, delay = rest.partition("@")
        if not (listen and target and delay):
            raise ValueError(f"link {text!r}: expected LISTEN=TARGET@DELAY_MS")
        return cls(listen, target, float(delay) / 1e3)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float) -> None:
    """Forward ``reader`` to ``writer``, each chunk ``delay_s`` after it arrived."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while True:
            try:
                chunk = await reader.read(CHUNK)
            except ConnectionError:
                chunk = b""
            queue.put_nowait((loop.time() + delay_s, chunk))
            if not chunk:
                return

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not chunk:  # end of stream, forwarded after the same delay
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()

    receiving = asyncio.create_task(receive())
    try:
        await send()
    finally:
        receiving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiving


async def _connection(
    link: Link, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
) -> None:
    try:
        host, port = _split(link.target)
        try:
            server_reader, server_writer = await asyncio.open_connection(host, port)
        except OSError:
            return
        try:
            await asyncio.gather(
                _pipe(client_reader, server_writer, link.delay_s),
                _pipe(server_reader, client_writer, link.delay_s),
                return_exceptions=True,
            )
        finally:
            server_writer.close()
    finally:
        client_writer.close()


async def start(links: list[Link]) -> list[asyncio.Server]:
    """Listen on every link (port 0 picks a free one; see ``server.sockets``)."""
    servers = []
    for link in links:
        host, port = _split(link.listen)

        async def handle(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, link: Link = link
        ) -> None:
            await _connection(link, r, w)

        servers.append(await asyncio.start_server(handle, host, port))
    return servers


async def _serve(links: list[Link]) -> None:
    servers = await start(links)
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(_serve([Link.parse(arg) for arg in sys.argv[1:]]))
