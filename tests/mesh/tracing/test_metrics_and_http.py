"""/metrics (Prometheus text, parsed back) and the HTTP middleware's trace headers."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import httpx
from fastapi import FastAPI
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from mesh.errors import NotFoundError
from mesh.tracing import (
    TracingMiddleware,
    current_trace_id,
    metrics_text,
    peer_span,
    set_result_count,
    start_metrics_server,
)
from tests.mesh.tracing.helpers import (
    PING,
    TRACE_ID,
    finished,
    make_telemetry,
    run_server,
    samples,
    traceparent,
)


async def test_grpc_requests_errors_and_latencies_are_counted_per_method_and_status():
    async def ping(request: bytes, context) -> bytes:
        if request == b"missing":
            raise NotFoundError("no such dataset")
        return b""

    telemetry = make_telemetry()
    async with (
        run_server(telemetry, {"Ping": ping}) as port,
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
    ):
        for request in [b""] * 5 + [b"missing"] * 2:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await channel.unary_unary(PING)(request, timeout=5)
    found = samples(metrics_text(telemetry))
    ok = (("rpc_grpc_status_code", "OK"), ("rpc_method", "test.v1.Echo/Ping"))
    missing = (("rpc_grpc_status_code", "NOT_FOUND"), ("rpc_method", "test.v1.Echo/Ping"))
    assert found["mesh_rpc_server_requests_total", ok] == 5
    assert found["mesh_rpc_server_requests_total", missing] == 2
    assert ("mesh_rpc_server_errors_total", ok) not in found
    assert found["mesh_rpc_server_errors_total", missing] == 2
    assert found["mesh_rpc_server_duration_seconds_count", ok] == 5
    assert found["mesh_rpc_server_duration_seconds_bucket", (("le", "+Inf"), *ok)] == 5
    assert found["mesh_rpc_server_duration_seconds_sum", ok] > 0


async def test_peer_outcomes_and_latencies_are_counted_per_peer():
    telemetry = make_telemetry("gw-1", "SE")
    for code in (0, 0, 14):
        with peer_span(telemetry, peer_id="fi-1", country="FI", method=PING) as call:
            call.set_status(code)
    found = samples(metrics_text(telemetry))
    labels = (("mesh_peer_country", "FI"), ("mesh_peer_id", "fi-1"))
    ok = (*labels, ("mesh_peer_outcome", "OK"), ("rpc_method", "test.v1.Echo/Ping"))
    down = (*labels, ("mesh_peer_outcome", "UNAVAILABLE"), ("rpc_method", "test.v1.Echo/Ping"))
    assert found["mesh_peer_requests_total", ok] == 2
    assert found["mesh_peer_requests_total", down] == 1
    assert found["mesh_peer_duration_seconds_count", down] == 1


async def test_node_metrics_port_serves_get_metrics_only():
    telemetry = make_telemetry()
    with peer_span(telemetry, peer_id="fi-1", country="FI", method=PING) as call:
        call.set_status(0)
    server = await start_metrics_server(telemetry, "127.0.0.1:0")
    port = server.sockets[0].getsockname()[1]

    async def get(path: str) -> tuple[str, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        response = await reader.read()
        writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        return head.decode().splitlines()[0], body

    try:
        status, body = await get("/metrics")
        assert status == "HTTP/1.1 200 OK"
        assert any(name == "mesh_peer_requests_total" for name, _ in samples(body))
        assert (await get("/other"))[0] == "HTTP/1.1 404 Not Found"
    finally:
        server.close()
        await server.wait_closed()


def api(telemetry) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/frequencies/{variant}")
    async def frequencies(variant: str) -> dict[str, str]:
        set_result_count(2)
        return {"trace_id": current_trace_id()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    app.add_middleware(TracingMiddleware, telemetry=telemetry)
    return app


async def test_http_middleware_continues_traceparent_and_answers_trace_headers():
    telemetry = make_telemetry("gw-1", "SE")
    transport = httpx.ASGITransport(app=api(telemetry), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        response = await client.get(
            "/api/v1/frequencies/1-55051215-G-GA?dataset=x", headers={"traceparent": traceparent()}
        )
        fresh = await client.get("/api/v1/frequencies/2-1-A-T")
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.get("/boom")).status_code == 500
        scraped = await client.get("/metrics")

    assert response.status_code == 200
    spans = finished(telemetry)
    continued = spans[0]
    assert format_trace_id(continued.context.trace_id) == TRACE_ID
    assert continued.kind is SpanKind.SERVER
    assert continued.name == "GET /api/v1/frequencies/{variant}"
    assert response.headers["x-trace-id"] == TRACE_ID == response.json()["trace_id"]
    ctx = continued.context
    assert response.headers["traceresponse"] == (
        f"00-{TRACE_ID}-{format_span_id(ctx.span_id)}-{ctx.trace_flags:02x}"
    )
    assert continued.attributes["mesh.result.count"] == 2
    assert continued.attributes["http.response.status_code"] == 200
    recorded = [s.name for s in spans] + [str(v) for s in spans for v in s.attributes.values()]
    assert not any("55051215" in text or "2-1-A-T" in text for text in recorded)
    assert fresh.headers["x-trace-id"] != TRACE_ID
    assert [s.name for s in spans[2:]] == ["GET (unmatched)", "GET /boom"]

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(scraped.text)
    route = (
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("http_route", "/api/v1/frequencies/{variant}"),
    )
    assert found["mesh_http_server_requests_total", route] == 2
    assert found["mesh_http_server_duration_seconds_count", route] == 2
    inf = tuple(sorted((*route, ("le", "+Inf"))))
    assert found["mesh_http_server_duration_seconds_bucket", inf] == 2
    assert found["mesh_http_server_duration_seconds_sum", route] > 0
    boom = (
        ("http_request_method", "GET"),
        ("http_response_status_code", "500"),
        ("http_route", "/boom"),
    )
    assert found["mesh_http_server_errors_total", boom] == 1
