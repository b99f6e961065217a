"""OIDC bearer tokens and GA4GH passport visas on the gateway's HTTP API, end to end.

A JWKS server on loopback publishes keys this module generates (RSA and EC); a real
gateway (HTTPS, bearer tokens accepted instead of a client certificate) federates a
real NO node over mTLS. The node holds:

* ``open``: everybody;
* ``alice-only``: gateways and the OIDC user alice;
* ``controlled``: gateways and holders of a ``ControlledAccessGrants`` visa for it;
* ``gateways-only``: gateways (so no user, through a gateway, ever reads it);
* ``no-nodes``: gateways and NO nodes (callers with a mesh certificate instead of a token).
"""

from __future__ import annotations

import base64
import contextlib
import json
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.server import RunningGateway, start_gateway
from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig
from mesh.config.http import HttpOptions, OidcIssuerConfig
from mesh.security.principal import VISA_PATTERN
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import RunningNode, start_node
from tests.mesh_harness import fast_settings, free_port
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

pytestmark = pytest.mark.asyncio

ISSUER = "https://login.test.example/oidc/"
AUDIENCE = "allelemesh-gateway"
GATEWAYS = "spiffe://allelemesh.example/country/*/gateway/*"
ALICE = f"oidc:{ISSUER}#alice"
VARIANT = "/v1/variants/1-2000-C-T"
RECORDS = [SiteRecord("1", 2000, "C", ["T"], GroupCounts(an=1204, ac=[47], hom=[4]))]
DATASETS = ("open", "alice-only", "controlled", "gateways-only", "no-nodes")
NO_NODES = "spiffe://allelemesh.example/country/NO/node/*"


@dataclass
class Keys:
    """Signing keys of the test issuer; ``published`` are the ones its JWKS lists."""

    rsa: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    ec: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    later: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    published: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.publish("rsa-1", self.rsa)
        self.publish("ec-1", self.ec)

    def publish(self, kid: str, key: Any) -> None:
        algorithm = (
            jwt.algorithms.RSAAlgorithm if kid.startswith("rsa") else jwt.algorithms.ECAlgorithm
        )
        jwk = json.loads(algorithm.to_jwk(key.public_key()))
        self.published[kid] = {**jwk, "kid": kid, "use": "sig"}


class JwksServer:
    """``GET /jwks.json`` on 127.0.0.1, counting fetches."""

    def __init__(self, keys: Keys) -> None:
        self.keys, self.fetches = keys, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps({"keys": list(outer.keys.published.values())}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    @contextlib.contextmanager
    def running(self) -> Iterator[JwksServer]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def token(key: Any, kid: str, *, algorithm: str = "", **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now,
                              "exp": now + 600, **overrides}  # fmt: skip
    claims = {k: v for k, v in claims.items() if v is not None}
    algorithm = algorithm or ("RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256")
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def visa(key: Any, kid: str, subject: str, value: str, *, exp_in: int = 600,
         issuer: str = ISSUER, kind: str = "ControlledAccessGrants") -> str:  # fmt: skip
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "iat": now, "exp": now + exp_in,
              "ga4gh_visa_v1": {"type": kind, "value": value, "source": "https://dac.example",
                                "by": "dac", "asserted": now - 10}}  # fmt: skip
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bearer")
    vcf = write_sites_vcf(root / "no.vcf", RECORDS, [], style="gdi", bgzip=True)
    out = {}
    for dataset_id in DATASETS:
        out[dataset_id] = root / dataset_id
        build_index(BuildOptions(inputs=[vcf], dataset_id=dataset_id, out=out[dataset_id],
                                 progress=False))  # fmt: skip
    return out


@dataclass
class World:
    node: RunningNode
    gateway: RunningGateway
    jwks: JwksServer
    keys: Keys
    pki: TestPki
    url: str

    def client(self, cc: str = "", role: str = "", name: str = "") -> httpx.AsyncClient:
        """An HTTPS client; with ``cc``/``role``/``name``, presenting that mesh certificate."""
        context = ssl.create_default_context(cafile=str(self.pki.root_cert))
        if name:
            issued = self.pki.leaf(cc, role, name)
            context.load_cert_chain(str(issued.cert), str(issued.key))
        return httpx.AsyncClient(base_url=self.url, verify=context, timeout=10)


@contextlib.asynccontextmanager
async def world(
    indexes: dict[str, Path], tmp_path: Path, *, min_refresh_s: float = 3600.0
) -> AsyncIterator[World]:
    pki = TestPki.create(tmp_path / "pki", countries=("NO", "DE"))
    keys = Keys()
    jwks = JwksServer(keys)
    node = await start_node(NodeConfig(
        id="no-oslo-1", country="NO", listen="127.0.0.1:0", reload_interval_s=0,
        tls=pki.tls(pki.leaf("NO", "node", "no-oslo-1")), audit_path=tmp_path / "node.jsonl",
        datasets=(
            DatasetConfig("open", indexes["open"]),
            DatasetConfig("alice-only", indexes["alice-only"], allow=(GATEWAYS, ALICE)),
            DatasetConfig("controlled", indexes["controlled"], allow=(GATEWAYS, VISA_PATTERN)),
            DatasetConfig("gateways-only", indexes["gateways-only"], allow=(GATEWAYS,)),
            DatasetConfig("no-nodes", indexes["no-nodes"], allow=(GATEWAYS, NO_NODES)),
        ),
    ))  # fmt: skip
    port = free_port()
    config = GatewayConfig(
        id="eu-gw-1", listen="127.0.0.1:0", http_listen=f"127.0.0.1:{port}",
        peers=(PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{node.port}",)),),
        tls=pki.tls(pki.leaf("DE", "gateway", "eu-gw-1")),
        http=HttpOptions(oidc=(OidcIssuerConfig(ISSUER, AUDIENCE, jwks_url=jwks.url,
                                                jwks_min_refresh_s=min_refresh_s),)),
        audit_path=tmp_path / "gateway.jsonl",
    )  # fmt: skip
    with jwks.running():
        gateway = await start_gateway(config, settings=fast_settings())
        try:
            yield World(node, gateway, jwks, keys, pki, f"https://127.0.0.1:{port}")
        finally:
            await gateway.stop(0)
            await node.stop(0)


@pytest.fixture
async def mesh(indexes, tmp_path) -> AsyncIterator[World]:
    async with world(indexes, tmp_path) as running:
        yield running


async def datasets_seen(client: httpx.AsyncClient, bearer: str | None) -> set[str]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    reply = await client.get(VARIANT, headers=headers)
    assert reply.status_code == 200, reply.text
    return {f["dataset_id"] for f in reply.json()["frequencies"]}


async def test_valid_tokens_rsa_and_ec_make_the_user_the_principal(mesh):
    async with mesh.client() as client:
        assert await datasets_seen(client, None) == {"open"}
        assert await datasets_seen(client, token(mesh.keys.rsa, "rsa-1")) == {"open", "alice-only"}
        assert await datasets_seen(client, token(mesh.keys.ec, "ec-1")) == {"open", "alice-only"}
        bob = token(mesh.keys.ec, "ec-1", sub="bob")
        assert await datasets_seen(client, bob) == {"open"}
    [record] = [
        json.loads(line) for line in mesh.gateway.audit.path.read_text().splitlines()
        if json.loads(line)["origin"] == f"oidc:{ISSUER}#bob"
    ]  # fmt: skip
    assert record["method"] == "GET /v1/variants/{variant}"
    assert record["status"] == "200"
    node_records = [json.loads(line) for line in mesh.node.audit.path.read_text().splitlines()]
    alice = [r for r in node_records if r["origin"] == ALICE and r["method"] == "LookupVariant"]
    assert len(alice) == 2
    assert {r["origin_status"] for r in alice} == {"verified"}
    assert {r["forwarder"] for r in alice} == {
        "spiffe://allelemesh.example/country/DE/gateway/eu-gw-1"
    }
    assert "2000" not in mesh.gateway.audit.path.read_text()


def invalid_tokens(keys: Keys) -> dict[str, str]:
    now = int(time.time())
    good = token(keys.ec, "ec-1")
    head, body, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "mallory"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {
        "expired": token(keys.ec, "ec-1", iat=now - 7200, exp=now - 3600),
        "not yet valid": token(keys.ec, "ec-1", nbf=now + 3600),
        "wrong audience": token(keys.ec, "ec-1", aud="another-service"),
        "no audience": token(keys.ec, "ec-1", aud=None),
        "no expiry": token(keys.ec, "ec-1", exp=None),
        "wrong issuer": token(keys.ec, "ec-1", iss="https://evil.example/"),
        "unsigned": unsigned({**claims, "sub": "alice"}),
        "tampered": f"{head}.{forged_body}.{signature}",
        "hmac with the public key": jwt.encode(
            {**claims, "sub": "alice"},
            "a-shared-secret-that-nobody-configured-anywhere",
            algorithm="HS256",
            headers={"kid": "ec-1"},
        ),
        "rsa key claimed as ec": token(keys.rsa, "ec-1", algorithm="RS256"),
        "not a jwt": "definitely.not.a-jwt",
    }


async def test_invalid_tokens_are_401_with_a_problem_never_500(mesh):
    async with mesh.client() as client:
        for name, bad in invalid_tokens(mesh.keys).items():
            for path in (VARIANT, "/api/g_variants"):
                reply = await client.get(path, headers={"Authorization": f"Bearer {bad}"})
                assert reply.status_code == 401, (name, path, reply.text)
                challenge = reply.headers["WWW-Authenticate"]
                assert challenge.startswith('Bearer error="invalid_token"'), name
                body = reply.json()
                assert body["status"] == 401
                assert body["reason"] == "INVALID_TOKEN"
                assert body["detail"].startswith("invalid bearer token")
                if path.startswith("/api"):
                    assert body["error"]["errorCode"] == 401
                else:
                    assert reply.headers["content-type"].startswith("application/problem+json")
        basic = await client.get(VARIANT, headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
        assert basic.status_code == 401


async def test_unknown_kid_refetches_once_then_refuses(mesh):
    async with mesh.client() as client:
        assert await datasets_seen(client, token(mesh.keys.ec, "ec-1")) == {"open", "alice-only"}
        assert mesh.jwks.fetches == 1
        stranger = ec.generate_private_key(ec.SECP256R1())
        for attempt in range(3):
            reply = await client.get(
                VARIANT, headers={"Authorization": f"Bearer {token(stranger, f'kid-{attempt}')}"}
            )
            assert reply.status_code == 401
        assert mesh.jwks.fetches == 2  # one refresh for the first unknown kid, then none


async def test_a_rotated_issuer_key_is_fetched_on_its_first_token(indexes, tmp_path):
    async with world(indexes, tmp_path, min_refresh_s=0) as running, running.client() as client:
        assert await datasets_seen(client, token(running.keys.ec, "ec-1")) == {"open", "alice-only"}
        running.keys.publish("ec-2", running.keys.later)
        fresh = token(running.keys.later, "ec-2")
        assert await datasets_seen(client, fresh) == {"open", "alice-only"}
        assert running.jwks.fetches == 2


async def test_a_passport_visa_grants_its_dataset_to_that_user_only(mesh):
    keys = mesh.keys
    rogue = ec.generate_private_key(ec.SECP256R1())
    passports = {
        "alice, visa by URL": ("alice", [visa(keys.ec, "ec-1", "alice",
                                              "https://gdi.example/datasets/controlled")]),
        "carol, visa by id": ("carol", [visa(keys.ec, "ec-1", "carol", "controlled")]),
        "bob, no visa": ("bob", []),
        "dan, expired visa": ("dan", [visa(keys.ec, "ec-1", "dan", "controlled", exp_in=-60)]),
        "erin, visa of alice": ("erin", [visa(keys.ec, "ec-1", "alice", "controlled")]),
        "frank, visa by an unknown issuer": ("frank", [visa(
            rogue, "r-1", "frank", "controlled", issuer="https://evil.example/")]),
        "gus, visa from an unpublished key": ("gus", [visa(rogue, "ec-1", "gus", "controlled")]),
        "hal, another visa type": ("hal", [visa(keys.ec, "ec-1", "hal", "controlled",
                                                kind="AffiliationAndRole")]),
    }  # fmt: skip
    seen = {}
    async with mesh.client() as client:
        for name, (subject, visas) in passports.items():
            bearer = token(keys.rsa, "rsa-1", sub=subject, ga4gh_passport_v1=visas)
            seen[name] = await datasets_seen(client, bearer)
        reply = await client.get(
            "/api/g_variants",
            params={"referenceName": "1", "start": 1999, "referenceBases": "C",
                    "alternateBases": "T", "requestedGranularity": "record"},
            headers={"Authorization": "Bearer " + token(
                keys.rsa, "rsa-1", sub="carol",
                ga4gh_passport_v1=[visa(keys.ec, "ec-1", "carol", "controlled")])},
        )  # fmt: skip
    assert seen.pop("alice, visa by URL") == {"open", "alice-only", "controlled"}
    assert seen.pop("carol, visa by id") == {"open", "controlled"}
    for name, datasets in seen.items():
        assert datasets == {"open"}, name
    assert reply.status_code == 200, reply.text
    result_sets = reply.json()["response"]["resultSets"]
    assert {r["id"] for r in result_sets} == {"open", "controlled"}


async def test_a_mesh_client_certificate_is_the_principal_without_a_token(mesh):
    async with mesh.client("NO", "node", "no-tromso-1") as client:
        assert await datasets_seen(client, None) == {"open", "no-nodes"}
        # A bearer token names the user: the certificate is only the connection's.
        alice = token(mesh.keys.ec, "ec-1")
        assert await datasets_seen(client, alice) == {"open", "alice-only"}
    async with mesh.client("DE", "operator", "portal-backend") as client:
        assert await datasets_seen(client, None) == {"open"}
