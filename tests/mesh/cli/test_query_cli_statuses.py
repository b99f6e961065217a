"""``allelemesh query`` names what a server answered: ``NOT_FOUND`` is not "unavailable".

A real gRPC server on loopback (the servicers' own error path, ``mesh.plumbing.rpc.unary_handlers``)
answers every lookup with one status; the CLI runs as a subprocess (printed line, exit
code) and in-process (the error class it raises, which callers branch on).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest

from mesh.cli import build_parser
from mesh.errors import (
    InvalidArgumentError,
    MeshError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    ResourceExhaustedError,
    UnavailableError,
)
from mesh.plumbing.rpc import unary_handlers
from tests.mesh_harness import REPO

MESSAGE = "what the server said"

# (code name, the error the server raises, the class the CLI must raise for it)
CASES: list[tuple[str, Callable[[], MeshError], type[MeshError]]] = [
    ("NOT_FOUND", lambda: NotFoundError(MESSAGE), NotFoundError),
    ("PERMISSION_DENIED", lambda: PermissionDeniedError(MESSAGE), PermissionDeniedError),
    ("RESOURCE_EXHAUSTED", lambda: ResourceExhaustedError(MESSAGE), ResourceExhaustedError),
    ("UNAVAILABLE", lambda: UnavailableError(MESSAGE), UnavailableError),
]


@asynccontextmanager
async def answering(error: MeshError) -> AsyncIterator[int]:
    """A server whose every LookupVariant ends with ``error``; yields its port."""

    async def lookup(request: bytes, context: Any) -> bytes:
        raise error

    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (unary_handlers({"LookupVariant": lookup}, "mesh.v1.AlleleFrequencyService"),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


async def run_cli(port: int) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh", "query", "1-55051215-G-GA",
        "--target", f"127.0.0.1:{port}", "--insecure", "--timeout", "5",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert stdout == b""
    assert process.returncode is not None
    return process.returncode, stderr.decode().strip().splitlines()[-1]


def query_args(port: int) -> argparse.Namespace:
    argv = ["query", "1-55051215-G-GA", "--target", f"127.0.0.1:{port}", "--insecure"]
    return build_parser().parse_args(argv)


@pytest.mark.parametrize(("name", "raised", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_each_code_is_named_as_what_it_is(
    name: str, raised: Callable[[], MeshError], expected: type[MeshError]
) -> None:
    async with answering(raised()) as port:
        code, line = await run_cli(port)
        args = query_args(port)
        with pytest.raises(MeshError) as caught:
            # The blocking client in a thread: the server answers from this loop.
            await asyncio.to_thread(args.handler, args)
    assert code == 1
    assert line == f"allelemesh: error: 127.0.0.1:{port} answered {name}: {MESSAGE}"
    assert type(caught.value) is expected
    assert caught.value.message == f"127.0.0.1:{port} answered {name}: {MESSAGE}"
    assert caught.value.reason == name  # the server's ErrorInfo reason, kept


async def test_a_code_without_its_own_error_keeps_its_code() -> None:
    class ConflictError(MeshError):
        code = grpc.StatusCode.ALREADY_EXISTS
        default_reason = "ALREADY_EXISTS"

    async with answering(ConflictError(MESSAGE)) as port:
        args = query_args(port)
        with pytest.raises(RemoteError) as caught:
            await asyncio.to_thread(args.handler, args)
    assert caught.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert caught.value.message == f"127.0.0.1:{port} answered ALREADY_EXISTS: {MESSAGE}"


async def test_bad_input_keeps_the_field_the_server_named() -> None:
    async with answering(InvalidArgumentError("variant.position", "position must be >= 1")) as port:
        code, line = await run_cli(port)
        args = query_args(port)
        with pytest.raises(InvalidArgumentError) as caught:
            await asyncio.to_thread(args.handler, args)
    assert (code, line) == (1, "allelemesh: error: position must be >= 1")
    assert caught.value.field == "variant.position"
