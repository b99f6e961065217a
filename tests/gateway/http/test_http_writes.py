"""How an answer leaves the HTTP server: one write per answer, streamed bodies not held.

A real uvicorn over loopback with :mod:`gateway.http.protocol`; the server's socket sends
are counted by wrapping ``socket.socket.send`` (what asyncio's transports call), only for
sockets whose local port is the server's, so the client's own sends do not count.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.http.app import start_http
from gateway.http.server import HttpServer, serve
from mesh.config import TlsConfig
from mesh.config.http import HttpOptions
from tests.gateway.http.fakes import FakeBackend
from tests.gateway.http.raw_http import read_answer


@dataclass(frozen=True)
class Config:
    http_listen: str = "127.0.0.1:0"
    tls: TlsConfig | None = None
    http: HttpOptions = field(default_factory=HttpOptions)


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    running = await start_http(FakeBackend(), Config())
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def server_sends(monkeypatch: pytest.MonkeyPatch):
    """``sends(port)``: the list that collects the bytes of each send by that port's sockets."""
    collected: dict[int, list[bytes]] = {}
    real_send = socket.socket.send

    def counting(sock: socket.socket, data: Any, *flags: int) -> int:
        sent = real_send(sock, data, *flags)
        try:
            port = sock.getsockname()[1]
        except OSError:
            return sent
        if port in collected:
            collected[port].append(bytes(memoryview(data)[:sent]))
        return sent

    monkeypatch.setattr(socket.socket, "send", counting)
    return lambda port: collected.setdefault(port, [])


async def test_each_answer_leaves_in_one_write(server: HttpServer, server_sends):
    # uvicorn wrote the head and the body apart: two sends (two TLS records on HTTPS)
    # per answer, the second one often after the client had already woken for the first.
    sends = server_sends(server.port)
    body = json.dumps({"meta": {}, "query": {"requestParameters": {}}}).encode()
    requests = [
        b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/nowhere HTTP/1.1\r\nHost: x\r\n\r\n",  # a 404 problem
        b"POST /api/g_variants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body,
    ]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for request in requests * 2:  # on one kept connection
            sends.clear()
            writer.write(request)
            answer = await read_answer(reader)
            assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 404"))
            assert sends == [answer], f"{len(sends)} sends for one answer"
    finally:
        writer.close()


async def test_head_answer_and_connection_close_are_written_whole(server: HttpServer, server_sends):
    sends = server_sends(server.port)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(5):
            everything = await reader.read()  # until the server closes
    finally:
        writer.close()
    assert everything.startswith(b"HTTP/1.1 200")
    assert b"connection: close" in everything.lower()
    assert sends == [everything]


async def _streaming_app(release: asyncio.Event, scope: Any, receive: Any, send: Any) -> None:
    """An ASGI app streaming two chunks, the second only once ``release`` is set."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
    await release.wait()
    await send({"type": "http.response.body", "body": b"second\n", "more_body": False})


async def test_a_streamed_body_is_not_held_back(server_sends):
    # What a response writes is held until it ends, so a streamed chunk must still go
    # out on the loop's next turn, not wait for the end of the stream.
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _streaming_app(release, scope, receive, send)

    running = await serve(app, "127.0.0.1:0")
    sends = server_sends(running.port)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", running.port)
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
                first = await reader.readuntil(b"first\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert b"transfer-encoding: chunked" in head.lower()
            assert len(sends) == 1  # head and first chunk together, before the release
            release.set()
            async with asyncio.timeout(5):
                rest = await reader.readuntil(b"0\r\n\r\n")
            assert b"second\n" in rest
            assert b"".join(sends) == head + first + rest
        finally:
            writer.close()
    finally:
        await running.stop()
