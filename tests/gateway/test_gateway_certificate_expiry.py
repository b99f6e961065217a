"""The gateway warns about its own and its peers' certificates near their end (/metrics, logs)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from gateway.server import start_gateway
from mesh.config import GatewayConfig, NodeConfig, PeerConfig
from nodes.serve.server import start_node
from tests.mesh_harness import fast_settings
from tests.pki_factory import TestPki


def gauges(text: str) -> dict[tuple[str, str, str], float]:
    return {
        (s.name, s.labels["kind"], s.labels["certificate"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("allelemesh_certificate_")
    }


async def test_gateway_metrics_and_logs_show_expiring_certificates(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mesh.security.certificates")
    pki = TestPki.create(tmp_path / "pki", countries=("NO", "EU"))
    node_tls = pki.tls(pki.leaf("NO", "node", "no-oslo-1", days=365))
    gateway_tls = pki.tls(pki.leaf("EU", "gateway", "eu-gw-1", days=12))
    node = await start_node(
        NodeConfig(id="no-oslo-1", country="NO", listen="127.0.0.1:0", datasets=(), tls=node_tls)
    )
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{node.port}",))
    config = GatewayConfig(
        id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,), http_listen="127.0.0.1:0",
        tls=gateway_tls,
    )  # fmt: skip
    gateway = await start_gateway(config, settings=fast_settings())
    try:
        assert gateway.http is not None
        portal = pki.leaf("EU", "operator", "portal", days=365)
        context = ssl.create_default_context(cafile=str(pki.root_cert))
        context.load_cert_chain(str(portal.cert), str(portal.key))
        async with httpx.AsyncClient(verify=context, timeout=5) as client:
            for _ in range(50):  # the peer's certificate is seen at its identity check
                found = gauges((await client.get(f"{gateway.http.url}/metrics")).text)
                if ("allelemesh_certificate_expiring_soon", "peer", peer.addresses[0]) in found:
                    break
                await asyncio.sleep(0.1)
    finally:
        await gateway.stop(None)
        await node.stop(None)
    own = ("own", str(gateway_tls.cert))
    assert found[("allelemesh_certificate_expiring_soon", *own)] == 1.0
    assert found[("allelemesh_certificate_expiring_soon", "peer", peer.addresses[0])] == 0.0
    end = x509.load_pem_x509_certificates(gateway_tls.cert.read_bytes())[0].not_valid_after_utc
    assert found[("allelemesh_certificate_expiry_timestamp_seconds", *own)] == end.timestamp()
    warned = [r.getMessage() for r in caplog.records if r.name == "mesh.security.certificates"]
    assert f"our certificate {gateway_tls.cert} expires in 11 days, on " in "\n".join(warned)
