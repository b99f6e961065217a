"""CLIENT spans per peer and traceparent injection: client -> server A -> server B."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from mesh.errors import UnavailableError
from mesh.tracing import TRACE_ID_METADATA_KEY, outgoing_metadata, peer_span, set_result_count
from mesh.v1 import allele_pb2, allele_service_pb2
from tests.mesh.tracing.helpers import PING, finished, make_telemetry, only, run_server

LOOKUP = "/mesh.v1.AlleleFrequencyService/LookupVariant"


def two_frequencies() -> allele_service_pb2.LookupVariantResponse:
    return allele_service_pb2.LookupVariantResponse(
        frequencies=[allele_pb2.VariantFrequency(), allele_pb2.VariantFrequency()]
    )


async def test_two_hops_make_one_trace_with_correct_parent_links():
    portal, gateway, node = (
        make_telemetry("portal", "SE"),
        make_telemetry("gw-1", "SE"),
        make_telemetry("fi-helsinki-1", "FI"),
    )

    async def answer(request: bytes, context) -> allele_service_pb2.LookupVariantResponse:
        set_result_count(2)
        return two_frequencies()

    async with (
        run_server(node, {"Ping": answer}) as node_port,
        grpc.aio.insecure_channel(f"127.0.0.1:{node_port}") as to_node,
    ):

        async def fan_out(request: bytes, context) -> bytes:
            with peer_span(gateway, peer_id="fi-helsinki-1", country="FI", method=LOOKUP) as call:
                rpc = to_node.unary_unary(PING)(request, metadata=outgoing_metadata(), timeout=5)
                data = await rpc
                call.set_response(allele_service_pb2.LookupVariantResponse.FromString(data))
            node_trace_ids.append(dict(await rpc.trailing_metadata())[TRACE_ID_METADATA_KEY])
            return data

        node_trace_ids: list[str] = []
        async with (
            run_server(gateway, {"Ping": fan_out}) as gateway_port,
            grpc.aio.insecure_channel(f"127.0.0.1:{gateway_port}") as to_gateway,
        ):
            with portal.tracer.start_as_current_span("portal request") as root:
                await to_gateway.unary_unary(PING)(b"", metadata=outgoing_metadata(), timeout=5)

    gateway_server = only(finished(gateway), "test.v1.Echo/Ping")
    client = only(finished(gateway), "mesh.v1.AlleleFrequencyService/LookupVariant")
    node_server = only(finished(node), "test.v1.Echo/Ping")
    trace_id = root.get_span_context().trace_id
    assert {s.context.trace_id for s in (gateway_server, client, node_server)} == {trace_id}
    assert gateway_server.parent.span_id == root.get_span_context().span_id
    assert client.parent.span_id == gateway_server.context.span_id
    assert node_server.parent.span_id == client.context.span_id
    assert node_trace_ids == [format_trace_id(trace_id)]
    assert client.kind is SpanKind.CLIENT
    assert client.attributes["mesh.peer.id"] == "fi-helsinki-1"
    assert client.attributes["mesh.peer.country"] == "FI"
    assert client.attributes["rpc.grpc.status_code"] == 0
    assert client.attributes["mesh.result.count"] == 2
    assert node_server.attributes["mesh.result.count"] == 2
    assert node_server.attributes["mesh.node.id"] == "fi-helsinki-1"


async def test_a_failing_peer_is_an_error_client_span():
    gateway, node = make_telemetry("gw-1", "SE"), make_telemetry("no-oslo-1", "NO")

    async def down(request: bytes, context) -> bytes:
        raise UnavailableError("index reloading")

    async with (
        run_server(node, {"Ping": down}) as port,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        with peer_span(gateway, peer_id="no-oslo-1", country="NO", method=LOOKUP) as call:
            try:
                await channel.unary_unary(PING)(b"", metadata=outgoing_metadata(), timeout=5)
            except grpc.aio.AioRpcError as error:
                call.set_status(error.code(), error.details() or "")
    (client,) = finished(gateway)
    assert client.attributes["rpc.grpc.status_code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert client.status.status_code is StatusCode.ERROR
    assert "mesh.result.count" not in client.attributes
    (server,) = finished(node)
    assert server.parent.span_id == client.context.span_id


async def test_hedge_tasks_started_inside_the_block_inject_the_client_span():
    gateway = make_telemetry("gw-1", "SE")

    async def attempt() -> dict[str, str]:
        return dict(outgoing_metadata((("x-mesh-hop", "1"),)))

    with peer_span(gateway, peer_id="fi-1", country="FI", method=LOOKUP) as call:
        first, second = await asyncio.gather(
            asyncio.create_task(attempt()), asyncio.create_task(attempt())
        )
        call.set_status(0)
    (client,) = finished(gateway)
    ctx = client.context
    expected = (
        f"00-{format_trace_id(ctx.trace_id)}-{format_span_id(ctx.span_id)}-{ctx.trace_flags:02x}"
    )
    assert first == second == {"x-mesh-hop": "1", "traceparent": expected}
    assert outgoing_metadata() == ()  # nothing current after the block


async def test_an_exception_inside_the_block_is_recorded_and_raised():
    gateway = make_telemetry("gw-1", "SE")
    try:
        with peer_span(gateway, peer_id="fi-1", country="FI", method=LOOKUP):
            raise TimeoutError
    except TimeoutError:
        pass
    (client,) = finished(gateway)
    assert client.attributes["rpc.grpc.status_code"] == grpc.StatusCode.UNKNOWN.value[0]


async def test_a_cancelled_call_is_recorded_cancelled_and_the_context_restored():
    gateway = make_telemetry("gw-1", "SE")

    async def hang() -> None:
        with peer_span(gateway, peer_id="fi-1", country="FI", method=LOOKUP):
            await asyncio.sleep(3600)

    task = asyncio.create_task(hang())
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    (client,) = finished(gateway)
    assert client.attributes["rpc.grpc.status_code"] == grpc.StatusCode.CANCELLED.value[0]
    assert client.status.status_code is StatusCode.ERROR
    assert outgoing_metadata() == ()


async def test_each_peer_span_names_its_own_peer():
    # Start attributes are made once per (peer, method): they must never leak between peers.
    gateway = make_telemetry("gw-1", "SE")
    peers = [("fi-1", "FI"), ("no-1", "NO"), ("fi-1", "FI"), ("se-2", "SE")]
    for peer_id, country in peers:
        with peer_span(gateway, peer_id=peer_id, country=country, method=LOOKUP) as call:
            call.set_status(0)
    seen = [
        (s.attributes["mesh.peer.id"], s.attributes["mesh.peer.country"]) for s in finished(gateway)
    ]
    assert seen == peers
    assert {s.attributes["rpc.method"] for s in finished(gateway)} == {"LookupVariant"}
    assert {s.name for s in finished(gateway)} == {LOOKUP.lstrip("/")}
