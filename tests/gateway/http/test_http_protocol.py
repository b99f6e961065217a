"""The HTTP connection itself, on a real uvicorn over loopback: Nagle, smuggling, slowloris.

Raw sockets where the framing matters (httpx would refuse to send what these tests send).
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from gateway.http.app import start_http
from gateway.http.server import HttpServer
from mesh.config import TlsConfig
from mesh.config.http import HttpOptions
from tests.gateway.http.fakes import FakeBackend
from tests.gateway.http.raw_http import read_answer

HEADER_TIMEOUT_S = 0.6


@dataclass(frozen=True)
class Config:
    http_listen: str = "127.0.0.1:0"
    tls: TlsConfig | None = None
    http: HttpOptions = field(
        default_factory=lambda: HttpOptions(header_timeout_s=HEADER_TIMEOUT_S)
    )


@pytest.fixture
async def server() -> AsyncIterator[HttpServer]:
    running = await start_http(FakeBackend(), Config())
    try:
        yield running
    finally:
        await running.stop()


async def _read_all(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes (fails if it keeps the connection)."""
    chunks = []
    async with asyncio.timeout(timeout):
        while chunk := await reader.read(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def test_keep_alive_requests_do_not_stall_on_delayed_acks(server: HttpServer):
    # With Nagle on the accepted socket, each answer (head and body written apart)
    # waited for the client's delayed ACK: >= 40 ms every request, 2 s for these 50.
    # The median, not the total, so a loaded machine's slow outliers do not decide it.
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api")).status_code == 200  # connect and warm up
        seconds = []
        for _ in range(50):
            started = time.perf_counter()
            response = await http.get("/api")
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200
    median = statistics.median(seconds)
    assert median < 0.025, f"median keep-alive request {median * 1000:.1f} ms (Nagle stall?)"
    assert sum(seconds) < 50 * 0.040, f"50 keep-alive requests took {sum(seconds):.2f} s"


async def test_keep_alive_is_no_slower_than_a_new_connection(server: HttpServer):
    # The portal keeps its connections alive; a new connection per request hid the
    # stall (~40 ms per keep-alive answer, a few ms new). Requests in a row on the kept
    # connection (other traffic in between would hide the delayed ACK), then as many
    # on new connections, both on raw sockets so the client costs the same; the ratio
    # of medians, as #17's target states.
    request = b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n"
    keep, fresh = [], []
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for i in range(41):
            started = time.perf_counter()
            writer.write(request)
            assert (await read_answer(reader)).startswith(b"HTTP/1.1 200")
            if i:  # the first one connects and warms up
                keep.append(time.perf_counter() - started)
    finally:
        writer.close()
    for _ in range(40):
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            writer.write(request)
            assert (await read_answer(reader)).startswith(b"HTTP/1.1 200")
        finally:
            writer.close()
        fresh.append(time.perf_counter() - started)
    ratio = statistics.median(keep) / statistics.median(fresh)
    assert ratio <= 1.2, (
        f"keep-alive p50 {statistics.median(keep) * 1000:.1f} ms is {ratio:.1f}x a new "
        f"connection's {statistics.median(fresh) * 1000:.1f} ms (Nagle stall?)"
    )


async def test_accepted_sockets_have_tcp_nodelay(server: HttpServer):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        (connection,) = server.server.server_state.connections
        sock = connection.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        writer.close()


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
        b"content-length: 44\r\ntransfer-encoding: chunked\r\n",
    ],
)
async def test_content_length_with_transfer_encoding_is_refused_and_closed(
    server: HttpServer, framing: bytes
):
    # The classic CL.TE smuggle: a front end framing by Content-Length and this server
    # framing by Transfer-Encoding would disagree on where the second request starts.
    smuggled = b"GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n"
    request = (
        b"POST /v1/variants:batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + framing
        + b"\r\n0\r\n\r\n"
        + smuggled
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        answer = await _read_all(reader)  # returns only because the server closed
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer
    assert b"connection: close" in head.lower()
    assert b"Content-Length and Transfer-Encoding" in body
    assert answer.count(b"HTTP/1.1 ") == 1, "the smuggled request was answered"


async def test_one_framing_header_is_still_served(server: HttpServer):
    body = b'{"variants": ["1-5-A-T"]}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            b"POST /v1/variants:batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked
        )
        answer = await _read_all(reader)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


async def test_slowloris_head_is_cut_off_with_408(server: HttpServer):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.perf_counter()
    try:
        writer.write(b"GET /api HTTP/1.1\r\nHost: x\r\n")

        async def trickle() -> None:
            for i in range(100):  # one header line every 50 ms, never the blank line
                await asyncio.sleep(0.05)
                writer.write(b"X-Slow-%d: y\r\n" % i)

        dripping = asyncio.create_task(trickle())
        try:
            answer = await _read_all(reader, timeout=HEADER_TIMEOUT_S + 3.0)
        finally:
            dripping.cancel()
        elapsed = time.perf_counter() - started
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in answer.lower()
    assert HEADER_TIMEOUT_S - 0.05 <= elapsed < HEADER_TIMEOUT_S + 1.5, elapsed


async def test_silent_connection_is_closed_after_the_header_timeout(server: HttpServer):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.perf_counter()
    try:
        answer = await _read_all(reader, timeout=HEADER_TIMEOUT_S + 3.0)
    finally:
        writer.close()
    assert answer == b""
    assert HEADER_TIMEOUT_S - 0.05 <= time.perf_counter() - started < HEADER_TIMEOUT_S + 1.5


async def test_each_request_on_a_kept_alive_connection_gets_its_own_deadline(
    server: HttpServer,
):
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for _ in range(3):  # together longer than one deadline, each well inside it
            writer.write(b"GET /api HTTP/1.1\r\nHost: x\r\n")
            await asyncio.sleep(HEADER_TIMEOUT_S / 3)
            writer.write(b"Accept: application/json\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200 "), head
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            await asyncio.sleep(HEADER_TIMEOUT_S / 2)  # idle between requests: keep-alive
    finally:
        writer.close()
