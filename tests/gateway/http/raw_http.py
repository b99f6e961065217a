"""HTTP/1.1 read by hand, for the tests where the connection's bytes themselves matter."""

from __future__ import annotations

import asyncio


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 answer: the head, then exactly Content-Length bytes of body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)
