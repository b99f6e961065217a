"""gRPC health says SERVING only once a server has been marked ready.

grpc's own health servicer starts with the server (``""``) SERVING, so a client that
waited for health (the demo, a probe) reached a gateway whose HTTP API was still
starting and was refused on the HTTP port.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.config.telemetry import TracingConfig
from mesh.server.serving import bind, mark_serving, new_server
from mesh.tracing import setup_tracing

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICES = ("", "mesh.v1.AlleleFrequencyService", "mesh.v1.CatalogService")


async def _statuses(port: int) -> list[int]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        replies = [
            await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            for name in SERVICES
        ]
    return [reply.status for reply in replies]


async def test_a_started_server_is_not_serving_until_marked() -> None:
    telemetry = setup_tracing(TracingConfig(), "allelemesh-test", "health-test")
    server, health = new_server((), telemetry, max_concurrent_rpcs=8)
    port = bind(server, "127.0.0.1:0", None, "test")
    await server.start()
    try:
        # Started and answering, but not ready: every name, the server's too, says so.
        assert await _statuses(port) == [NOT_SERVING] * len(SERVICES)
        await mark_serving(health)
        assert await _statuses(port) == [SERVING] * len(SERVICES)
    finally:
        await server.stop(None)
        telemetry.shutdown()
