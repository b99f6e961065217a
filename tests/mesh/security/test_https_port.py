"""The gateway's HTTP port under [tls]: HTTPS only, and only for clients with a mesh certificate."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gateway.http.server import server_ssl_context
from gateway.server import start_gateway
from mesh.config import GatewayConfig, PeerConfig
from tests.mesh_harness import fast_settings, free_port
from tests.pki_factory import TestPki

pytestmark = pytest.mark.asyncio


def client_context(
    pki: TestPki, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.root_cert))
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


def get(url: str, context: ssl.SSLContext | None) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


async def test_http_port_requires_tls_and_a_client_certificate(tmp_path: Path):
    pki = TestPki.create(tmp_path / "pki", countries=("NO", "EU"))
    gateway_tls = pki.tls(pki.leaf("EU", "gateway", "eu-gw-1"))
    # One peer with nothing listening: the API still answers, with that node's outcome.
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{free_port()}",))
    port = free_port()
    config = GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,),
                           http_listen=f"127.0.0.1:{port}", tls=gateway_tls)  # fmt: skip
    gateway = await start_gateway(config, insecure=False, settings=fast_settings())
    try:
        portal = pki.leaf("EU", "operator", "portal")
        rogue = pki.foreign().leaf("EU", "operator", "portal")
        https = f"https://127.0.0.1:{port}/api/info"

        def attempts() -> dict[str, object]:
            results: dict[str, object] = {}
            results["mesh client"] = get(https, client_context(pki, portal.cert, portal.key))
            for name, url, context in (
                ("plain http", f"http://127.0.0.1:{port}/api/info", None),
                ("no client certificate", https, client_context(pki)),
                ("foreign CA", https, client_context(pki, rogue.cert, rogue.key)),
            ):  # fmt: skip
                try:
                    results[name] = get(url, context)
                except (urllib.error.URLError, ssl.SSLError, ConnectionError, OSError) as exc:
                    results[name] = exc
            return results

        results = await asyncio.to_thread(attempts)
    finally:
        await gateway.stop(0)
    status, body = results.pop("mesh client")  # type: ignore[misc]
    assert status == 200
    assert body["meta"]["beaconId"]
    for name, outcome in results.items():
        assert isinstance(outcome, Exception), f"{name} was answered: {outcome!r}"
    # Nothing below TLS 1.2 on the HTTP port, whatever the client offers.
    assert server_ssl_context(gateway_tls).minimum_version >= ssl.TLSVersion.TLSv1_2
