"""Every metric label has a bounded set of values, whatever callers send.

Each label set is a Prometheus series kept for the life of the process; a label fed
from the request (the HTTP method token, a gRPC method path) let any caller grow
``/metrics`` without limit (500 made-up methods: 1.3 MB).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
from dataclasses import dataclass

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.http.app import start_http
from mesh.config import TlsConfig
from mesh.tracing import metrics_text
from mesh.tracing._metrics import HTTP_METHODS, MAX_LABEL_SETS, OTHER, MeshMetrics
from tests.gateway.http.fakes import FakeBackend
from tests.mesh.tracing.helpers import PING, make_telemetry, run_server


@dataclass(frozen=True)
class Config:
    http_listen: str = "127.0.0.1:0"
    tls: TlsConfig | None = None


def _series(text: bytes, family: str) -> list[dict[str, str]]:
    return [
        dict(sample.labels)
        for metric in text_string_to_metric_families(text.decode())
        if metric.name == family
        for sample in metric.samples
    ]


def _odd_methods(count: int, seed: int) -> list[str]:
    chosen = random.Random(seed)
    return [
        "".join(chosen.choices(string.ascii_uppercase + "-_!~", k=chosen.randint(3, 12)))
        for _ in range(count)
    ]


async def _send_methods(port: int, methods: list[str]) -> None:
    """One keep-alive connection; each method once against a route and a made-up path."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i, method in enumerate(methods):
            path = "/api" if i % 2 else f"/nothing/{i}"
            writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
    finally:
        writer.close()


async def test_made_up_http_methods_do_not_grow_metrics():
    telemetry = make_telemetry()
    server = await start_http(FakeBackend(), Config(), telemetry=telemetry)
    try:
        await _send_methods(server.port, [*_odd_methods(50, seed=1), "GET", "POST"])
        after_50 = metrics_text(telemetry)
        await _send_methods(server.port, _odd_methods(500, seed=2))
        after_550 = metrics_text(telemetry)
    finally:
        await server.stop()
        telemetry.shutdown()
    requests = _series(after_550, "mesh_http_server_requests")
    methods = {labels["http_request_method"] for labels in requests}
    assert OTHER in methods
    assert methods <= HTTP_METHODS | {OTHER}, methods
    assert {labels["http_route"] for labels in requests} <= {"/api", "(unmatched)"}
    # 500 more made-up methods add no series: the exposition is the same size.
    assert len(requests) == len(_series(after_50, "mesh_http_server_requests"))
    # Measured as growth: other tests in this process may have added process-wide
    # series (certificate expiry gauges), which count in the absolute size.
    assert len(after_550) - len(after_50) < 2_000, (len(after_50), len(after_550))
    other = [
        labels
        for labels in requests
        if labels["http_request_method"] == OTHER and labels["http_route"] == "(unmatched)"
    ]
    assert other


async def test_unknown_grpc_methods_add_no_series():
    async def ping(request: bytes, context) -> bytes:
        return b""

    telemetry = make_telemetry()
    async with (
        run_server(telemetry, {"Ping": ping}) as port,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        await channel.unary_unary(PING)(b"", timeout=5)
        for i in range(200):
            with contextlib.suppress(grpc.aio.AioRpcError):
                await channel.unary_unary(f"/made.up.Service{i}/Method{i}")(b"", timeout=5)
    series = _series(metrics_text(telemetry), "mesh_rpc_server_requests")
    assert [s["rpc_method"] for s in series] == ["test.v1.Echo/Ping"]
    telemetry.shutdown()


def test_statuses_outside_http_are_other():
    telemetry = make_telemetry()
    for status in (200, 404, 999, 42):
        telemetry.metrics.record_http("/api", "GET", status, 0.001)
    statuses = {
        s["http_response_status_code"]
        for s in _series(metrics_text(telemetry), "mesh_http_server_requests")
    }
    assert statuses == {"200", "404", OTHER}
    telemetry.shutdown()


@pytest.mark.parametrize("family", ["peer", "http"])
def test_any_label_source_is_capped_per_family(family: str):
    telemetry = make_telemetry()
    metrics: MeshMetrics = telemetry.metrics
    distinct = MAX_LABEL_SETS + 300
    for i in range(distinct):
        if family == "peer":
            metrics.record_peer(f"peer-{i}", "NO", "mesh.v1.AlleleService/LookupVariant", "OK", 0.0)
        else:
            metrics.record_http(f"/route/{i}", "GET", 200, 0.0)
    metrics.record_server("mesh.v1.AlleleService/LookupVariant", grpc.StatusCode.OK, 0.0)
    text = metrics_text(telemetry)
    name = "mesh_peer_requests" if family == "peer" else "mesh_http_server_requests"
    series = _series(text, name)
    assert len(series) == MAX_LABEL_SETS + 1  # the first MAX_LABEL_SETS, then one "other"
    overflow = [s for s in series if OTHER in s.values()]
    assert len(overflow) == 1
    assert set(overflow[0].values()) == {OTHER}
    counts = {
        tuple(sorted(sample.labels.items())): sample.value
        for metric in text_string_to_metric_families(text.decode())
        if metric.name == name
        for sample in metric.samples
    }
    assert sum(counts.values()) == distinct  # nothing recorded is lost
    assert counts[tuple(sorted(overflow[0].items()))] == 300
    # Another family is unaffected by this one's cap.
    assert _series(text, "mesh_rpc_server_requests")[0]["rpc_method"].endswith("LookupVariant")
    telemetry.shutdown()
