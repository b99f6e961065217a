"""SpanBuffer, TraceService/GetTrace (operators only, real mTLS) and `trace show --config`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.trace import format_trace_id

from mesh.cli import main
from mesh.config import TlsConfig
from mesh.errors import PermissionDeniedError
from mesh.plumbing.channels import open_aio_channel
from mesh.security.identity import SpiffeId
from mesh.tracing import (
    SpanBuffer,
    Telemetry,
    authorize_trace_reader,
    outgoing_metadata,
    peer_span,
    trace_service_handler,
)
from mesh.v1 import trace_service_pb2, trace_service_pb2_grpc
from tests.mesh.tracing.helpers import PING, make_telemetry, run_server
from tests.pki_factory import TestPki

LOOKUP = "/mesh.v1.AlleleFrequencyService/LookupVariant"


def test_span_buffer_keeps_only_the_most_recent_spans():
    telemetry = make_telemetry(buffer_spans=5)
    ids = []
    for i in range(8):
        with telemetry.tracer.start_as_current_span(f"s{i}") as span:
            ids.append(span.get_span_context().trace_id)
    buffer = telemetry.buffer
    assert isinstance(buffer, SpanBuffer)
    assert len(buffer) == 5
    assert buffer.spans_of(ids[0]) == []
    assert [s.name for s in buffer.spans_of(ids[7])] == ["s7"]


def test_no_buffer_when_disabled():
    assert make_telemetry(buffer_spans=0).buffer is None


def test_only_operators_may_read_spans():
    operator = SpiffeId("allelemesh.example", "NO", "operator", "alice")
    assert authorize_trace_reader(operator) is operator
    for caller in (None, SpiffeId("allelemesh.example", "NO", "gateway", "gw-1")):
        with pytest.raises(PermissionDeniedError):
            authorize_trace_reader(caller)


@pytest.fixture
def test_pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("NO", "FI", "SE"))


@contextlib.asynccontextmanager
async def node(telemetry: Telemetry, tls: TlsConfig) -> AsyncIterator[int]:
    async def answer(request: bytes, context) -> bytes:
        await asyncio.sleep(0.02 if telemetry.country == "FI" else 0.0)  # FI is the slow one
        return b"counts"

    async with run_server(
        telemetry, {"Ping": answer}, tls=tls, extra=[trace_service_handler(telemetry)]
    ) as port:
        yield port


async def get_trace(port: int, tls: TlsConfig, trace_id: str) -> trace_service_pb2.GetTraceResponse:
    async with open_aio_channel(f"127.0.0.1:{port}", tls) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        return await stub.GetTrace(trace_service_pb2.GetTraceRequest(trace_id=trace_id), timeout=5)


async def test_get_trace_answers_operators_and_refuses_everyone_else(test_pki: TestPki):
    telemetry = make_telemetry("no-oslo-1", "NO")
    node_tls = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    operator_tls = test_pki.tls(test_pki.leaf("NO", "operator", "alice"))
    async with node(telemetry, node_tls) as port:
        async with open_aio_channel(f"127.0.0.1:{port}", node_tls) as channel:
            rpc = channel.unary_unary(PING)(b"", timeout=5)
            await rpc
            trace_id = dict(await rpc.trailing_metadata())["x-trace-id"]

        answer = await get_trace(port, operator_tls, trace_id.upper())
        assert (answer.node_id, answer.country) == ("no-oslo-1", "NO")
        (span,) = answer.spans
        assert span.trace_id == trace_id
        assert span.name == "test.v1.Echo/Ping"
        assert span.kind == trace_service_pb2.SPAN_KIND_SERVER
        assert (span.node_id, span.country, span.service_name) == (
            "no-oslo-1",
            "NO",
            "allelemesh-test",
        )
        assert span.attributes["rpc.grpc.status_code"] == "0"
        assert span.end_time_unix_nano > span.start_time_unix_nano

        assert not (await get_trace(port, operator_tls, "1" * 32)).spans  # unknown: empty

        with pytest.raises(grpc.aio.AioRpcError) as info:
            await get_trace(port, node_tls, trace_id)
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        status = rpc_status.from_call(info.value)
        error_info = error_details_pb2.ErrorInfo()
        status.details[0].Unpack(error_info)
        assert error_info.reason == "OPERATOR_ROLE_REQUIRED"

        with pytest.raises(grpc.aio.AioRpcError) as info:
            await get_trace(port, operator_tls, "not-a-trace")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # GetTrace itself is never traced: only the Ping span is buffered.
    assert len(telemetry.buffer) == 1


async def test_plaintext_callers_are_refused():
    telemetry = make_telemetry()
    async with run_server(telemetry, {}, extra=[trace_service_handler(telemetry)]) as port:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await get_trace(port, None, "1" * 32)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_trace_show_assembles_one_tree_across_countries(test_pki: TestPki, tmp_path, capsys):
    telemetry = {
        "NO": make_telemetry("no-oslo-1", "NO"),
        "FI": make_telemetry("fi-helsinki-1", "FI"),
        "SE": make_telemetry("gw-1", "SE"),
    }
    tls = {
        "NO": test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1")),
        "FI": test_pki.tls(test_pki.leaf("FI", "node", "fi-helsinki-1")),
        "SE": test_pki.tls(test_pki.leaf("SE", "gateway", "gw-1")),
    }
    operator = test_pki.leaf("SE", "operator", "olle")
    async with (
        node(telemetry["NO"], tls["NO"]) as no_port,
        node(telemetry["FI"], tls["FI"]) as fi_port,
    ):
        peers = {"no-oslo-1": ("NO", no_port), "fi-helsinki-1": ("FI", fi_port)}

        async def fan_out(request: bytes, context) -> bytes:
            async def ask(peer_id: str, country: str, port: int) -> None:
                with peer_span(gateway, peer_id=peer_id, country=country, method=LOOKUP) as call:
                    async with open_aio_channel(f"127.0.0.1:{port}", tls["SE"]) as channel:
                        await channel.unary_unary(PING)(
                            b"", metadata=outgoing_metadata(), timeout=5
                        )
                    call.set_status(0)

            await asyncio.gather(*(ask(p, c, port) for p, (c, port) in peers.items()))
            return b"pooled"

        gateway = telemetry["SE"]
        async with run_server(
            gateway, {"Ping": fan_out}, tls=tls["SE"], extra=[trace_service_handler(gateway)]
        ) as gw_port:
            async with open_aio_channel(f"127.0.0.1:{gw_port}", tls["SE"]) as channel:
                rpc = channel.unary_unary(PING)(b"", timeout=5)
                await rpc
                trace_id = dict(await rpc.trailing_metadata())["x-trace-id"]
            config = tmp_path / "gateway.toml"
            config.write_text(
                f"""
[gateway]
id = "gw-1"
country = "SE"
listen = "127.0.0.1:{gw_port}"

[tls]
ca = "{test_pki.root_cert}"
cert = "{tls["SE"].cert}"
key = "{tls["SE"].key}"

[[peers]]
id = "no-oslo-1"
country = "NO"
address = "127.0.0.1:{no_port}"

[[peers]]
id = "fi-helsinki-1"
country = "FI"
address = "127.0.0.1:{fi_port}"
"""
            )
            argv = ["trace", "show", trace_id, "--config", str(config)]
            operator_args = ["--cert", str(operator.cert), "--key", str(operator.key)]
            code = await asyncio.to_thread(main, argv + operator_args)
            out = capsys.readouterr().out
            # With the gateway's own identity every node refuses, and nothing is found.
            refused = await asyncio.to_thread(main, argv)
            err = capsys.readouterr().err

    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(
        f"trace {trace_id}: 5 spans from 3 nodes in 3 countries (FI, NO, SE)"
    )
    assert lines[2].startswith("* [SE gw-1] server test.v1.Echo/Ping  OK")
    fi_client = next(line for line in lines if "client" in line and "-> FI" in line)
    no_client = next(line for line in lines if "client" in line and "-> NO" in line)
    assert fi_client.lstrip("├└─│ ").startswith("*")  # FI was slow: it is the slowest path
    assert not no_client.lstrip("├└─│ ").startswith("*")
    fi_server = lines[lines.index(fi_client) + 1]
    assert "[FI fi-helsinki-1] server" in fi_server
    assert "*" in fi_server
    assert refused == 1
    assert "PERMISSION_DENIED" in err
    assert f"no spans of trace {trace_id}" in err
    assert format_trace_id(int(trace_id, 16)) == trace_id
