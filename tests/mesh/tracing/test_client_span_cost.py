"""What keeps the fan-out's CLIENT spans cheap: no live SDK span per peer, histogram outside OTel.

Each test would fail if :func:`peer_span` went back to ``Tracer.start_span`` per peer,
if its span drifted from what the SDK's tracer would record, or if the peer latency
histogram kept outside OpenTelemetry drifted from what the SDK's histogram would show.
"""

from __future__ import annotations

import grpc
import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

from mesh.tracing import metrics_text, outgoing_metadata, peer_span
from mesh.tracing._context import extract_context
from tests.mesh.tracing.helpers import (
    PARENT_SPAN_ID,
    TRACE_ID,
    assert_like_sdk_span,
    finished,
    make_telemetry,
    samples,
    sdk_histogram,
    traceparent,
)

LOOKUP = "/mesh.v1.AlleleFrequencyService/LookupVariant"
DURATIONS = "mesh_peer_duration_seconds"


def test_peer_spans_are_recorded_without_a_live_sdk_span(live_spans):
    telemetry = make_telemetry("gw-1", "SE")
    for _ in range(5):
        with peer_span(telemetry, peer_id="fi-1", country="FI", method=LOOKUP) as call:
            call.set_status(0)
    assert len(finished(telemetry)) == 5
    assert live_spans == []


def test_unsampled_peer_calls_record_nothing_but_still_propagate(live_spans):
    telemetry = make_telemetry("gw-1", "SE", sample_ratio=0.0)
    with peer_span(telemetry, peer_id="fi-1", country="FI", method=LOOKUP) as call:
        sent = dict(outgoing_metadata())
        call.set_result_count(3)
        call.set_status(0)
    assert finished(telemetry) == []
    assert live_spans == []
    assert int(sent["traceparent"][-2:], 16) & 1 == 0  # a context, not sampled


def test_peer_span_has_what_the_sdk_tracer_would_give_it():
    telemetry = make_telemetry("gw-1", "SE")
    remote = extract_context((("traceparent", traceparent()), ("tracestate", "vendor=abc")))
    for parent in (remote, otel_context.Context()):
        token = otel_context.attach(parent)
        try:
            with peer_span(telemetry, peer_id="fi-1", country="FI", method=LOOKUP) as call:
                sent = dict(outgoing_metadata())
                call.set_status(grpc.StatusCode.UNAVAILABLE, "down")
            sdk = telemetry.tracer.start_span(
                LOOKUP.lstrip("/"),
                None,
                SpanKind.CLIENT,
                {
                    "mesh.peer.id": "fi-1",
                    "mesh.peer.country": "FI",
                    "rpc.system": "grpc",
                    "rpc.method": "LookupVariant",
                },
            )
            sdk.set_attribute("rpc.grpc.status_code", 14)
            sdk.set_status(trace.Status(StatusCode.ERROR, "UNAVAILABLE: down"))
            sdk.end()
        finally:
            otel_context.detach(token)
        ours, reference = finished(telemetry)[-2:]
        assert ours.name == reference.name
        assert_like_sdk_span(ours, reference, SpanKind.CLIENT)
        assert dict(ours.attributes) == dict(reference.attributes)
        assert ours.status.status_code == reference.status.status_code
        assert ours.status.description == reference.status.description
        context = ours.context
        ids = f"{format_trace_id(context.trace_id)}-{format_span_id(context.span_id)}"
        assert sent["traceparent"] == f"00-{ids}-{context.trace_flags:02x}"
    continued, _, root, _ = finished(telemetry)
    assert format_trace_id(continued.context.trace_id) == TRACE_ID
    assert continued.parent is not None
    assert f"{continued.parent.span_id:016x}" == PARENT_SPAN_ID
    assert root.parent is None


def test_peer_latency_histogram_is_what_the_sdk_histogram_would_show():
    values = [0.0005, 0.001, 0.003, 0.0999, 0.1, 2.0, 20.0]
    telemetry = make_telemetry()
    for seconds in values:
        telemetry.metrics.record_peer("fi-1", "FI", "svc/M", "OK", seconds)
    telemetry.metrics.record_peer("fi-1", "FI", "svc/M", "UNAVAILABLE", 0.004)
    ours = {k: v for k, v in samples(metrics_text(telemetry)).items() if k[0].startswith(DURATIONS)}
    histogram, reference = sdk_histogram("mesh.peer.duration")
    labels = {"mesh.peer.id": "fi-1", "mesh.peer.country": "FI", "rpc.method": "svc/M"}
    for seconds in values:
        histogram.record(seconds, {**labels, "mesh.peer.outcome": "OK"})
    histogram.record(0.004, {**labels, "mesh.peer.outcome": "UNAVAILABLE"})
    assert ours
    assert ours == reference()
    ok = (
        ("mesh_peer_country", "FI"),
        ("mesh_peer_id", "fi-1"),
        ("mesh_peer_outcome", "OK"),
        ("rpc_method", "svc/M"),
    )
    assert ours[f"{DURATIONS}_bucket", (("le", "0.1"), *ok)] == 5
    assert ours[f"{DURATIONS}_count", ok] == 7
    assert ours[f"{DURATIONS}_sum", ok] == pytest.approx(sum(values))
