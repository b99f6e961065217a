"""The tier on the gateway's HTTP API: Beacon ``info.environment`` and ``/v1/mesh/status``
(what the pages' banner and mesh view read), from a gateway process started in-loop."""

from __future__ import annotations

import asyncio

import httpx

from gateway.server import start_gateway
from mesh.config import GatewayConfig, PeerConfig
from tests.background_loop import NodeHandle
from tests.gateway.http.harness import COUNTRY, NODE_ID, POS
from tests.mesh_harness import dead_address


async def test_staging_gateway_says_test_and_shows_its_last_mesh_check(node: NodeHandle) -> None:
    config = GatewayConfig(
        id="gw-staging",
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        timeout_ms=2000,
        tier="staging",  # plaintext: nothing is certified, the configured tier is all there is
        mesh_check_interval_s=0.5,
        peers=(
            PeerConfig(id=NODE_ID, country=COUNTRY, addresses=(node.address,)),
            PeerConfig(id="lu-1", country="LU", addresses=(dead_address(),)),
        ),
    )
    gateway = await start_gateway(config, insecure=True)
    try:
        assert gateway.http is not None
        async with httpx.AsyncClient(base_url=gateway.http.url, timeout=30) as http:
            info = (await http.get("/api/info")).json()
            assert info["response"]["environment"] == "test"
            status = (await http.get("/v1/mesh/status")).json()
            assert status["tier"] == "staging"
            assert status["environment"] == "test"
            for _ in range(100):
                if status["check"] is not None:
                    break
                await asyncio.sleep(0.1)
                status = (await http.get("/v1/mesh/status")).json()
            check = status["check"]
            assert check is not None
            peers = {p["id"]: {c["name"]: c["status"] for c in p["checks"]} for p in check["peers"]}
            assert peers["lu-1"]["reachable"] == "fail"
            assert peers[NODE_ID]["reachable"] == "ok"
            assert peers[NODE_ID]["tls"] == "skip"  # plaintext mesh
            assert peers[NODE_ID]["health"] == "ok"
            assert check["ok"] is False
            [node_report] = [p for p in check["peers"] if p["id"] == NODE_ID]
            [canary] = [c for c in node_report["checks"] if c["name"] == "canary"]
            assert canary["status"] == "ok", canary
            assert "run `allelemesh mesh check`" in canary["detail"]  # no coordinates here
            assert str(POS) not in canary["detail"]
    finally:
        await gateway.stop(grace=1.0)


async def test_production_gateway_says_prod(node: NodeHandle) -> None:
    config = GatewayConfig(
        id="gw-prod",
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        peers=(PeerConfig(id=NODE_ID, country=COUNTRY, addresses=(node.address,)),),
    )
    gateway = await start_gateway(config, insecure=True)
    try:
        assert gateway.http is not None
        async with httpx.AsyncClient(base_url=gateway.http.url, timeout=30) as http:
            info = (await http.get("/api/info")).json()
            assert info["response"]["environment"] == "prod"
            status = (await http.get("/v1/mesh/status")).json()
            assert status == {"tier": "production", "environment": "prod", "check": None}
    finally:
        await gateway.stop(grace=1.0)
