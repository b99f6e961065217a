"""The HTTP API as the gateway process starts it, over a real node and a dead peer."""

from __future__ import annotations

import httpx

from gateway.server import start_gateway
from mesh.config import GatewayConfig, PeerConfig
from tests.background_loop import NodeHandle
from tests.gateway.http import beacon_schemas as bs
from tests.gateway.http.harness import COUNTRY, EXPECTED, NODE_ID, POS
from tests.mesh_harness import dead_address


async def test_gateway_serves_http_and_reports_the_dead_peer(node: NodeHandle):
    config = GatewayConfig(
        id="gw-1",
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        timeout_ms=2000,
        peers=(
            PeerConfig(id=NODE_ID, country=COUNTRY, addresses=(node.address,)),
            PeerConfig(id="lu-1", country="LU", addresses=(dead_address(),)),
        ),
    )
    gateway = await start_gateway(config, insecure=True)
    try:
        assert gateway.http is not None
        assert gateway.http.port > 0
        async with httpx.AsyncClient(base_url=gateway.http.url, timeout=30) as http:
            params = {
                "referenceName": "1",
                "start": str(POS - 1),
                "referenceBases": "G",
                "alternateBases": "A",
                "requestedGranularity": "count",
            }
            response = await http.get("/api/g_variants", params=params)
            assert response.status_code == 200, response.text
            document = response.json()
            bs.assert_g_variants_valid(document)
            assert document["responseSummary"]["numTotalResults"] == 2
            failed = [o["node_id"] for o in document["info"]["failedNodes"]]
            assert failed == ["lu-1"]

            body = (await http.get(f"/v1/variants/1-{POS}-G-A")).json()
            pooled = body["pooled"]
            totals = [EXPECTED[d][("1", POS, "G", "A")][""] for d in EXPECTED]
            assert pooled["allele_count"] == sum(t[0] for t in totals)
            assert {o["node_id"] for o in body["outcomes"]} == {NODE_ID, "lu-1"}
    finally:
        await gateway.stop(grace=1.0)
