"""The WAN figure's delay proxy: real sockets on loopback, delay per direction, bytes in order."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.wan_proxy import Link, start

REPO = Path(__file__).resolve().parents[2]
DELAY_S = 0.25
#: Scheduling slack on a busy machine; below DELAY_S, so a doubled delay still fails.
SLACK_S = 0.2


async def _with_proxy(handler, delay_s: float):  # type: ignore[no-untyped-def]
    """A target server running ``handler`` and a proxy link to it; returns both."""
    target = await asyncio.start_server(handler, "127.0.0.1", 0)
    target_port = target.sockets[0].getsockname()[1]
    [proxy] = await start([Link("127.0.0.1:0", f"127.0.0.1:{target_port}", delay_s)])
    return target, proxy, proxy.sockets[0].getsockname()[1]


def test_each_direction_is_delayed_once_and_the_end_of_stream_too() -> None:
    async def scenario() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        arrived: asyncio.Future[float] = loop.create_future()
        eof_seen: asyncio.Future[float] = loop.create_future()

        async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readexactly(5)
            arrived.set_result(loop.time())
            writer.write(b"pong!")
            await writer.drain()
            assert await reader.read(1) == b""
            eof_seen.set_result(loop.time())
            writer.close()

        target, proxy, port = await _with_proxy(handler, DELAY_S)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            sent = loop.time()
            writer.write(b"ping!")
            assert await asyncio.wait_for(reader.readexactly(5), 10) == b"pong!"
            back = loop.time()
            eof_sent = loop.time()
            writer.write_eof()
            eof_at = await asyncio.wait_for(eof_seen, 10)
            assert await asyncio.wait_for(reader.read(1), 10) == b""  # the close comes back
            writer.close()
            there = await arrived
            return there - sent, back - there, eof_at - eof_sent
        finally:
            proxy.close()
            target.close()

    outward, inward, eof = asyncio.run(scenario())
    for delay in (outward, inward, eof):
        assert DELAY_S <= delay < DELAY_S + SLACK_S, (outward, inward, eof)


def test_bytes_arrive_whole_and_in_order_and_a_burst_is_delayed_once() -> None:
    rng = random.Random(17)
    chunks = [rng.randbytes(rng.randrange(1, 40_000)) for _ in range(200)]
    expected = b"".join(chunks)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def scenario() -> tuple[bytes, float]:
        target, proxy, port = await _with_proxy(echo, DELAY_S)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            started = time.monotonic()

            async def send() -> None:
                for chunk in chunks:
                    writer.write(chunk)
                    await writer.drain()
                writer.write_eof()

            sending = asyncio.create_task(send())
            received = await asyncio.wait_for(reader.read(-1), 30)  # until the echo's EOF
            await sending
            writer.close()
            return received, time.monotonic() - started
        finally:
            proxy.close()
            target.close()

    received, seconds = asyncio.run(scenario())
    assert len(received) == len(expected)
    assert received == expected
    # 200 chunks each way: pipelined, the round trip pays the delay twice, not 400 times.
    assert 2 * DELAY_S <= seconds < 2 * DELAY_S + 1.0


def test_the_command_line_serves_a_link_in_its_own_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen_port = probe.getsockname()[1]

    async def scenario() -> float:
        def upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):  # type: ignore[no-untyped-def]
            async def run() -> None:
                writer.write((await reader.readexactly(4)).upper())
                await writer.drain()
                writer.close()

            return run()

        target = await asyncio.start_server(upper, "127.0.0.1", 0)
        target_port = target.sockets[0].getsockname()[1]
        link = f"127.0.0.1:{listen_port}=127.0.0.1:{target_port}@{DELAY_S * 1e3:g}"
        proxy = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.wan_proxy", link,
            cwd=REPO, stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            assert proxy.stdout is not None
            assert await asyncio.wait_for(proxy.stdout.readline(), 30) == b"ready\n"
            reader, writer = await asyncio.open_connection("127.0.0.1", listen_port)
            started = time.monotonic()
            writer.write(b"wan!")
            assert await asyncio.wait_for(reader.readexactly(4), 10) == b"WAN!"
            writer.close()
            return time.monotonic() - started
        finally:
            proxy.terminate()
            await asyncio.wait_for(proxy.wait(), 10)
            target.close()

    seconds = asyncio.run(scenario())
    assert 2 * DELAY_S <= seconds < 2 * DELAY_S + 2 * SLACK_S


def test_a_link_is_parsed_from_its_command_line_form() -> None:
    assert Link.parse("127.0.0.1:5001=127.0.0.1:6001@45") == Link(
        "127.0.0.1:5001", "127.0.0.1:6001", 0.045
    )
    with pytest.raises(ValueError, match="LISTEN=TARGET@DELAY_MS"):
        Link.parse("127.0.0.1:5001=127.0.0.1:6001")
