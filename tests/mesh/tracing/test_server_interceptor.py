"""The server interceptor: one SERVER span per RPC, propagation, x-trace-id, privacy."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from mesh.errors import NotFoundError
from mesh.tracing import (
    TRACE_ID_METADATA_KEY,
    current_trace_id,
    server_interceptor,
    set_dataset_ids,
    set_query,
    set_result_count,
)
from tests.mesh.tracing.helpers import (
    PARENT_SPAN_ID,
    PING,
    TRACE_ID,
    finished,
    make_telemetry,
    run_server,
    traceparent,
)

VARIANT = b"1-55051215-G-GA"


async def echo(request: bytes, context) -> bytes:
    return request


async def call(port: int, request: bytes = b"x", metadata=()) -> tuple[bytes, dict[str, str]]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        rpc = channel.unary_unary(PING)(request, metadata=metadata, timeout=5)
        response = await rpc
        return response, dict(await rpc.trailing_metadata())


async def test_new_trace_gets_one_server_span_and_its_id_in_metadata():
    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": echo}) as port:
        response, metadata = await call(port)
    assert response == b"x"
    (span,) = finished(telemetry)
    assert span.kind is SpanKind.SERVER
    assert span.name == "test.v1.Echo/Ping"
    assert span.parent is None
    assert metadata[TRACE_ID_METADATA_KEY] == format_trace_id(span.context.trace_id)
    assert span.attributes["rpc.grpc.status_code"] == 0
    assert span.attributes["mesh.node.id"] == "no-oslo-1"
    assert span.resource.attributes["mesh.country"] == "NO"


async def test_incoming_traceparent_is_continued_not_replaced():
    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": echo}) as port:
        _, metadata = await call(port, metadata=(("traceparent", traceparent()),))
    (span,) = finished(telemetry)
    assert format_trace_id(span.context.trace_id) == TRACE_ID
    assert span.parent is not None
    assert span.parent.is_remote
    assert format_span_id(span.parent.span_id) == PARENT_SPAN_ID
    assert metadata[TRACE_ID_METADATA_KEY] == TRACE_ID


async def test_unsampled_parent_records_nothing_but_still_returns_the_trace_id():
    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": echo}) as port:
        _, metadata = await call(port, metadata=(("traceparent", traceparent(flags="00")),))
    assert finished(telemetry) == []
    assert metadata[TRACE_ID_METADATA_KEY] == TRACE_ID


async def test_a_refused_rpc_is_an_error_span_and_still_carries_the_trace_id():
    async def missing(request: bytes, context) -> bytes:
        raise NotFoundError("no such dataset")

    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": missing}) as port:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(port)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    (span,) = finished(telemetry)
    assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert span.status.status_code is StatusCode.ERROR
    metadata = dict(info.value.trailing_metadata())
    assert metadata[TRACE_ID_METADATA_KEY] == format_trace_id(span.context.trace_id)
    # The servicer's own trailers (rich error details) are kept beside x-trace-id.
    assert rpc_status.from_call(info.value).message == "no such dataset"


async def test_servicer_trailers_are_kept_beside_the_trace_id():
    async def with_trailer(request: bytes, context) -> bytes:
        context.set_trailing_metadata((("x-mesh-note", "cached"),))
        return b""

    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": with_trailer}) as port:
        _, metadata = await call(port)
    assert metadata["x-mesh-note"] == "cached"
    assert TRACE_ID_METADATA_KEY in metadata


async def test_a_servicer_bug_is_an_internal_error_span():
    async def broken(request: bytes, context) -> bytes:
        raise RuntimeError("bug")

    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": broken}) as port:
        with pytest.raises(grpc.aio.AioRpcError):
            await call(port)
    (span,) = finished(telemetry)
    assert span.attributes["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0]


async def test_servicer_attributes_land_on_the_span_and_coordinates_do_not():
    seen_trace_ids = []

    async def lookup(request: bytes, context) -> bytes:
        set_dataset_ids(["no-1kg", "no-biobank"])
        set_result_count(3)
        set_query(request.decode(), log_queries=False)
        seen_trace_ids.append(current_trace_id())
        return b"ok"

    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": lookup}) as port:
        _, metadata = await call(port, VARIANT)
    (span,) = finished(telemetry)
    assert span.attributes["mesh.result.count"] == 3
    assert span.attributes["mesh.dataset.ids"] == ("no-1kg", "no-biobank")
    assert seen_trace_ids == [metadata[TRACE_ID_METADATA_KEY]]
    recorded = [span.name, *map(str, span.attributes.values()), *(e.name for e in span.events)]
    assert not any("55051215" in text for text in recorded)


async def test_coordinates_are_recorded_when_the_dataset_opts_in():
    async def lookup(request: bytes, context) -> bytes:
        set_query(request.decode(), log_queries=True)
        return b"ok"

    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": lookup}) as port:
        await call(port, VARIANT)
    (span,) = finished(telemetry)
    assert span.attributes["mesh.query"] == VARIANT.decode()


async def test_health_checks_are_not_traced():
    telemetry = make_telemetry()
    server = grpc.aio.server(interceptors=[server_interceptor(telemetry)])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    finally:
        await server.stop(None)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert finished(telemetry) == []


async def test_each_rpc_of_many_gets_its_own_span_and_context():
    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": echo}) as port:
        for _ in range(5):
            await call(port)
    spans = finished(telemetry)
    assert len(spans) == 5
    assert len({s.context.trace_id for s in spans}) == 5
    assert all(s.parent is None for s in spans)
