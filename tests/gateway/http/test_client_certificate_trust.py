"""Client certificates on the gateway's HTTPS port meet the gRPC ports' rules.

A FI-signed NO identity, a certificate with two SPIFFE IDs, and a revoked one are all
refused (403, reason named) by a real gateway over real TLS, while an honest mesh
certificate is answered: the HTTP API never lends an identity the trust store refuses to
the fan-out (which would forward it to every node as the origin).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.server import start_gateway
from mesh.config import GatewayConfig, PeerConfig
from mesh.security.trust import append_to_deny_list, format_serial
from tests.mesh_harness import fast_settings, free_port
from tests.pki_factory import TestPki, serial_of

pytestmark = pytest.mark.asyncio


def get(url: str, pki: TestPki, cert: Path, key: Path) -> tuple[int, dict]:
    context = ssl.create_default_context(cafile=str(pki.root_cert))
    context.load_cert_chain(str(cert), str(key))
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


async def test_refused_certificates_get_403_and_honest_ones_an_answer(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path / "pki", countries=("NO", "FI", "EU"))
    deny = pki.out / "deny-list.txt"
    deny.write_text("# nothing revoked yet\n", encoding="utf-8")
    gateway_tls = replace(pki.tls(pki.leaf("EU", "gateway", "eu-gw-1")), deny_list=deny)
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{free_port()}",))
    port = free_port()
    config = GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,),
                           http_listen=f"127.0.0.1:{port}", tls=gateway_tls)  # fmt: skip
    honest = pki.leaf("NO", "operator", "ops")
    later_revoked = pki.leaf("NO", "operator", "leaver")
    impostor = pki.forged("FI", [pki.uri("NO", "operator", "evil")], "evil")
    two_ids = pki.forged("NO", [pki.uri("NO", "operator", "a"), pki.uri("NO", "operator", "b")],
                         "two-ids")  # fmt: skip
    url = f"https://127.0.0.1:{port}/api/info"
    gateway = await start_gateway(config, insecure=False, settings=fast_settings())
    try:
        results = {
            name: await asyncio.to_thread(get, url, pki, issued.cert, issued.key)
            for name, issued in (("honest", honest), ("impostor", impostor),
                                 ("two ids", two_ids), ("leaver", later_revoked))
        }  # fmt: skip
        append_to_deny_list(deny, "serial", format_serial(serial_of(later_revoked.cert)))
        started = time.monotonic()
        while time.monotonic() - started < 5:
            status, body = await asyncio.to_thread(
                get, url, pki, later_revoked.cert, later_revoked.key
            )
            if status == 403:
                break
            await asyncio.sleep(0.05)
        results["revoked"] = (status, body)
    finally:
        await gateway.stop(0)
    assert results["honest"][0] == 200
    assert results["leaver"][0] == 200  # before its revocation
    refusals = {
        "impostor": "ISSUER_COUNTRY_MISMATCH",
        "two ids": "IDENTITY_AMBIGUOUS",
        "revoked": "CERTIFICATE_REVOKED",
    }
    for name, reason in refusals.items():
        status, body = results[name]
        assert status == 403, (name, status, body)
        assert body["reason"] == reason, (name, body)
        assert body["detail"].startswith("client certificate refused: "), body
