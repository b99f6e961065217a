"""What keeps the server interceptor cheap: no live SDK span per RPC, histograms outside OTel.

Each test would fail if the interceptor went back to ``Tracer.start_span`` per RPC or
if the latency histogram kept outside OpenTelemetry drifted from what the SDK's
histogram would show on ``/metrics``.
"""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.trace import SpanKind, format_trace_id

from mesh.tracing import TRACE_ID_METADATA_KEY, metrics_text, set_result_count
from mesh.tracing._context import extract_context
from tests.mesh.tracing.helpers import (
    PARENT_SPAN_ID,
    PING,
    TRACE_ID,
    assert_like_sdk_span,
    finished,
    make_telemetry,
    run_server,
    samples,
    sdk_histogram,
    traceparent,
)

DURATIONS = "mesh_rpc_server_duration_seconds"


async def ping(request: bytes, context: object) -> bytes:
    set_result_count(len(request))
    return request


async def calls(port: int, count: int, metadata: tuple[tuple[str, str], ...] = ()) -> list[str]:
    """The x-trace-id of each of ``count`` calls."""
    ids = []
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        for i in range(count):
            rpc = channel.unary_unary(PING)(b"x" * i, metadata=metadata, timeout=5)
            await rpc
            ids.append(dict(await rpc.trailing_metadata())[TRACE_ID_METADATA_KEY])
    return ids


async def test_unsampled_rpcs_make_no_span_object_and_still_return_trace_ids(live_spans):
    telemetry = make_telemetry(sample_ratio=0.0)
    async with run_server(telemetry, {"Ping": ping}) as port:
        ids = await calls(port, 5)
    assert finished(telemetry) == []
    assert live_spans == []
    assert len(set(ids)) == 5
    assert all(len(i) == 32 and int(i, 16) != 0 for i in ids)
    text = samples(metrics_text(telemetry))
    ok = (("rpc_grpc_status_code", "OK"), ("rpc_method", "test.v1.Echo/Ping"))
    assert text["mesh_rpc_server_requests_total", ok] == 5  # counted though not traced


async def test_sampled_rpcs_are_recorded_without_a_live_sdk_span(live_spans):
    telemetry = make_telemetry()
    async with run_server(telemetry, {"Ping": ping}) as port:
        ids = await calls(port, 4)
    spans = finished(telemetry)
    assert live_spans == []
    assert [format_trace_id(s.context.trace_id) for s in spans] == ids
    assert [s.attributes["mesh.result.count"] for s in spans] == [0, 1, 2, 3]
    assert all(s.end_time >= s.start_time > 0 for s in spans)


async def test_server_span_has_what_the_sdk_tracer_would_give_it():
    telemetry = make_telemetry()
    metadata = (("traceparent", traceparent()), ("tracestate", "vendor=abc"))
    async with run_server(telemetry, {"Ping": ping}) as port:
        await calls(port, 1, metadata)
        await calls(port, 1)  # a new root trace
    continued, root = finished(telemetry)
    for ours, parent in ((continued, extract_context(metadata)), (root, None)):
        sdk = telemetry.tracer.start_span(
            "test.v1.Echo/Ping",
            parent,
            SpanKind.SERVER,
            {"rpc.method": "Ping", "mesh.node.id": "no-oslo-1"},
        )
        sdk.end()
        reference = finished(telemetry)[-1]
        assert_like_sdk_span(ours, reference, SpanKind.SERVER)
        assert ours.status.status_code == reference.status.status_code
    assert format_trace_id(continued.context.trace_id) == TRACE_ID
    assert continued.parent is not None
    assert f"{continued.parent.span_id:016x}" == PARENT_SPAN_ID
    assert continued.context.trace_state.get("vendor") == "abc"
    assert root.parent is None


def test_latency_histogram_is_what_the_sdk_histogram_would_show():
    values = [0.0005, 0.001, 0.003, 0.0999, 0.1, 2.0, 20.0]
    telemetry = make_telemetry()
    for seconds in values:
        telemetry.metrics.record_server("svc/M", grpc.StatusCode.OK, seconds)
    telemetry.metrics.record_server("svc/M", grpc.StatusCode.NOT_FOUND, 0.004)
    ours = {k: v for k, v in samples(metrics_text(telemetry)).items() if k[0].startswith(DURATIONS)}
    # The same values in an SDK histogram, rendered the way /metrics renders OTel data.
    histogram, reference = sdk_histogram("mesh.rpc.server.duration")
    for seconds in values:
        histogram.record(seconds, {"rpc.method": "svc/M", "rpc.grpc.status_code": "OK"})
    histogram.record(0.004, {"rpc.method": "svc/M", "rpc.grpc.status_code": "NOT_FOUND"})
    assert ours == reference()
    # And by hand: a bucket holds its upper bound; cumulative counts.
    ok = (("rpc_grpc_status_code", "OK"), ("rpc_method", "svc/M"))
    assert ours[f"{DURATIONS}_bucket", (("le", "0.001"), *ok)] == 2
    assert ours[f"{DURATIONS}_bucket", (("le", "0.1"), *ok)] == 5
    assert ours[f"{DURATIONS}_bucket", (("le", "10.0"), *ok)] == 6
    assert ours[f"{DURATIONS}_bucket", (("le", "+Inf"), *ok)] == 7
    assert ours[f"{DURATIONS}_count", ok] == 7
    assert ours[f"{DURATIONS}_sum", ok] == pytest.approx(sum(values))


async def test_servicer_reads_the_metadata_the_interceptor_read_once():
    from mesh.tracing._server import TracingServerInterceptor
    from tests.mesh.tracing.test_benchmark import FakeContext

    class Counting(FakeContext):
        reads = 0

        def invocation_metadata(self):
            Counting.reads += 1
            return (*super().invocation_metadata(), ("x-origin", "tok"))

    seen = []

    async def servicer(request: bytes, context) -> bytes:
        seen.append(context.invocation_metadata())
        seen.append(context.invocation_metadata())
        return request

    wrapped = TracingServerInterceptor(make_telemetry())._wrap("/mesh.v1.S/M", servicer)
    assert await wrapped(b"x", Counting()) == b"x"
    assert Counting.reads == 1  # grpc builds a new tuple per ask: read once per RPC
    assert seen[0] == seen[1] == (*FakeContext().invocation_metadata(), ("x-origin", "tok"))
