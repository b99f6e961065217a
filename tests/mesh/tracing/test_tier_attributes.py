"""The tier on every span (resource attributes) and on ``/metrics``."""

from __future__ import annotations

from mesh.tracing import TracingConfig, metrics_text, setup_tracing


def test_spans_and_metrics_carry_the_tier() -> None:
    telemetry = setup_tracing(
        TracingConfig(buffer_spans=10), "allelemesh-node", "lv-1", "LV", tier="staging"
    )
    try:
        with telemetry.tracer.start_as_current_span("lookup") as span:
            trace_id = span.get_span_context().trace_id
        assert telemetry.buffer is not None
        [ended] = telemetry.buffer.spans_of(trace_id)
        attributes = ended.resource.attributes
        assert attributes["mesh.tier"] == "staging"
        assert attributes["deployment.environment.name"] == "staging"
        text = metrics_text(telemetry).decode()
        assert 'allelemesh_tier_info{process="allelemesh-node",tier="staging"} 1.0' in text
    finally:
        telemetry.shutdown()
