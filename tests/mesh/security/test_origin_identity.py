"""The caller is the principal everywhere: no confused deputy, no forged origin.

Real mTLS (certificates from tests/pki_factory.py), real nodes over real indexes, a real
gateway and a real federating node. The NO node ``no-oslo-1`` holds:

* ``open``: no allow list;
* ``gateways-only``: gateways only;
* ``counts``: gateways see counts, FI nodes only that a variant exists (boolean), NO
  nodes everything;
* ``members``: gateways and NO nodes.

Expected counts are the records' own numbers, written below by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_status import rpc_status

from gateway.http.convert import outcomes_from_details
from gateway.server import RunningGateway, start_gateway
from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig, TlsConfig
from mesh.plumbing.channels import open_aio_channel
from mesh.security.origin_signing import OriginSigner
from mesh.security.origin_token import ORIGIN_TOKEN_KEY
from mesh.security.principal import Principal
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import RunningNode, start_node
from tests.mesh_harness import fast_settings
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

pytestmark = pytest.mark.asyncio

TD = "spiffe://allelemesh.example"
GATEWAYS = f"{TD}/country/*/gateway/*"
FI_NODES = f"{TD}/country/FI/node/*"
NO_NODES = f"{TD}/country/NO/node/*"
OSLO = f"{TD}/country/NO/node/no-oslo-1"
LOOKUP = "/mesh.v1.AlleleFrequencyService/LookupVariant"

#: AC 47 of AN 1204 at 1:2000 C>T, 44 of them in population NO.
RECORDS = [
    SiteRecord("1", 2000, "C", ["T"], GroupCounts(an=1204, ac=[47], hom=[4]),
               {"NO": GroupCounts(an=1000, ac=[44], hom=[4])}),
]  # fmt: skip
DATASETS = ("open", "gateways-only", "counts", "members")


def variant_request(*dataset_ids: str, scope: int = 0) -> allele_service_pb2.LookupVariantRequest:
    return allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome="1", position=2000, reference_bases="C", alternate_bases="T"
        ),
        dataset_ids=list(dataset_ids),
        scope=scope,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("origin")
    vcf = write_sites_vcf(root / "no.vcf", RECORDS, ["NO"], style="gdi", bgzip=True)
    out = {}
    for dataset_id in DATASETS:
        out[dataset_id] = root / dataset_id
        build_index(BuildOptions(inputs=[vcf], dataset_id=dataset_id, out=out[dataset_id],
                                 progress=False))  # fmt: skip
    return out


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("NO", "FI", "DE"))


def oslo_config(indexes: dict[str, Path], tls: TlsConfig, audit: Path) -> NodeConfig:
    return NodeConfig(
        id="no-oslo-1", country="NO", listen="127.0.0.1:0", tls=tls, reload_interval_s=0,
        audit_path=audit,
        datasets=(
            DatasetConfig("open", indexes["open"]),
            DatasetConfig("gateways-only", indexes["gateways-only"], allow=(GATEWAYS,)),
            DatasetConfig("counts", indexes["counts"], allow=(GATEWAYS, FI_NODES, NO_NODES),
                          granularity={GATEWAYS: "count", FI_NODES: "boolean"}),
            DatasetConfig("members", indexes["members"], allow=(GATEWAYS, NO_NODES)),
        ),
    )  # fmt: skip


@pytest.fixture
async def oslo(indexes, pki, tmp_path) -> AsyncIterator[RunningNode]:
    tls = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    node = await start_node(oslo_config(indexes, tls, tmp_path / "audit" / "oslo.jsonl"))
    try:
        yield node
    finally:
        await node.stop(0)


@pytest.fixture
async def gateway(oslo, pki, tmp_path) -> AsyncIterator[RunningGateway]:
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{oslo.port}",),
                      identity=OSLO)  # fmt: skip
    config = GatewayConfig(
        id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,),
        tls=pki.tls(pki.leaf("DE", "gateway", "eu-gw-1")),
        audit_path=tmp_path / "audit" / "gateway.jsonl",
    )  # fmt: skip
    running = await start_gateway(config, settings=fast_settings())
    try:
        yield running
    finally:
        await running.stop(0)


@pytest.fixture
async def bergen(oslo, pki, tmp_path) -> AsyncIterator[RunningNode]:
    """A NO node with no datasets of its own that federates with Oslo (SCOPE_MESH)."""
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{oslo.port}",),
                      identity=OSLO)  # fmt: skip
    config = NodeConfig(
        id="no-bergen-1", country="NO", listen="127.0.0.1:0", datasets=(), peers=(peer,),
        tls=pki.tls(pki.leaf("NO", "node", "no-bergen-1")), reload_interval_s=0,
        timeout_ms=2000,
    )  # fmt: skip
    node = await start_node(config)
    try:
        yield node
    finally:
        await node.stop(0)


def identityless_tls(pki: TestPki, out: Path) -> TlsConfig:
    """A leaf the NO CA signed with no SPIFFE URI at all: trusted, but nobody."""
    ca = pki.country("NO")
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, pki.trust_domain),
            # The tier, as the CA's name constraint requires (else TLS refuses it first).
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, pki.tier),
            x509.NameAttribute(NameOID.COMMON_NAME, "nobody"),
        ]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("nobody.example")]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "nobody.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    (out / "nobody.crt").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM) + ca.cert.read_bytes()
    )
    return TlsConfig(ca=(pki.root_cert,), cert=out / "nobody.crt", key=out / "nobody.key")


async def lookup(
    port: int,
    tls: TlsConfig,
    request: allele_service_pb2.LookupVariantRequest,
    metadata: tuple[tuple[str, str], ...] = (),
) -> allele_service_pb2.LookupVariantResponse:
    """One LookupVariant as ``tls``'s holder, sending exactly ``request``'s bytes."""
    async with open_aio_channel(f"127.0.0.1:{port}", tls) as channel:
        method = channel.unary_unary(
            LOOKUP, response_deserializer=allele_service_pb2.LookupVariantResponse.FromString
        )
        response: allele_service_pb2.LookupVariantResponse = await method(
            request.SerializeToString(), timeout=5, metadata=metadata
        )
        return response


def by_dataset(
    response: allele_service_pb2.LookupVariantResponse,
) -> dict[str, allele_pb2.VariantFrequency]:
    return {f.dataset_id: f for f in response.frequencies}


def audit_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def refusal_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "origin_refused"]


# ------------------------------------------------------------------ the confused deputy


async def test_operator_refused_directly_is_refused_through_the_gateway(oslo, gateway, pki):
    operator = pki.tls(pki.leaf("DE", "operator", "portal-backend"))
    with pytest.raises(grpc.aio.AioRpcError) as direct:
        await lookup(oslo.port, operator, variant_request("gateways-only"))
    assert direct.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # Through the gateway, named: the node refuses it for the operator, as its outcome.
    with pytest.raises(grpc.aio.AioRpcError) as through:
        await lookup(gateway.port, operator, variant_request("gateways-only"))
    assert through.value.code() == grpc.StatusCode.UNAVAILABLE  # every source asked failed
    status = rpc_status.from_call(through.value)
    assert status is not None
    [refused] = outcomes_from_details(list(status.details))
    assert refused.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "portal-backend" in refused.status.message
    # Unnamed: only what the operator may see itself.
    response = await lookup(gateway.port, operator, variant_request())
    assert set(by_dataset(response)) == {"open"}
    [outcome] = response.outcomes
    assert outcome.status.code == 0
    # What the operator may not see is reported as withheld, not silently dropped.
    withheld = {d.dataset_id: d.status for d in outcome.datasets}
    assert set(withheld) == {"gateways-only", "counts", "members"}
    assert {s.code for s in withheld.values()} == {grpc.StatusCode.PERMISSION_DENIED.value[0]}
    assert "through spiffe://allelemesh.example/country/DE/gateway/eu-gw-1" in (
        withheld["members"].message
    )


async def test_fi_node_limited_to_boolean_gets_only_boolean_through_the_gateway(oslo, gateway, pki):
    fi = pki.tls(pki.leaf("FI", "node", "fi-helsinki-1"))
    direct = by_dataset(await lookup(oslo.port, fi, variant_request("counts")))["counts"]
    through = by_dataset(await lookup(gateway.port, fi, variant_request()))
    assert set(through) == {"open", "counts"}  # not gateways-only, not members
    for frequency in (direct, through["counts"]):
        assert frequency.counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED
        assert not frequency.counts.HasField("allele_count")
        assert list(frequency.populations) == []
    assert through["open"].counts.allele_count == 47  # open data is not touched


async def test_a_certificate_with_no_identity_gets_nothing_through_the_gateway(
    oslo, gateway, pki, tmp_path
):
    """Refused outright by the trust store (one SPIFFE ID per leaf); were it let in, the
    call context makes it anonymous (tests/mesh/security/test_principal_patterns.py)."""
    nobody = identityless_tls(pki, tmp_path / "nobody")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lookup(gateway.port, nobody, variant_request())
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_gateway_itself_still_sees_what_it_is_admitted_to(oslo, gateway, pki):
    """The intersection, not a ban: an origin admitted where the gateway is gets it,
    at the stricter granularity (gateways: count; NO nodes: record)."""
    no_node = pki.tls(pki.leaf("NO", "node", "no-tromso-1"))
    through = by_dataset(await lookup(gateway.port, no_node, variant_request()))
    assert set(through) == {"open", "counts", "members"}
    assert through["counts"].counts.allele_count == 47
    assert list(through["counts"].populations) == []  # count: the gateway's cap
    assert [p.population for p in through["members"].populations] == ["NO"]


async def test_deputy_through_a_federating_peer_node(oslo, bergen, pki):
    """FI node -> Bergen (SCOPE_MESH) -> Oslo: Oslo answers for FI, capped by Bergen."""
    fi = pki.tls(pki.leaf("FI", "node", "fi-helsinki-1"))
    operator = pki.tls(pki.leaf("DE", "operator", "ops-1"))
    mesh = allele_pb2.SCOPE_MESH
    await bergen.mesh.catalog.refresh()  # type: ignore[union-attr]
    as_fi = by_dataset(await lookup(bergen.port, fi, variant_request(scope=mesh)))
    assert set(as_fi) == {"open", "counts"}
    assert as_fi["counts"].counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED
    as_operator = by_dataset(await lookup(bergen.port, operator, variant_request(scope=mesh)))
    assert set(as_operator) == {"open"}  # Bergen may read "members"; the operator may not
    oslo_audit = audit_lines(oslo.audit.path)  # type: ignore[union-attr]
    forwarded = [
        r for r in oslo_audit
        if r["method"] == "LookupVariant" and r["forwarder"].endswith("/no-bergen-1")
    ]  # fmt: skip
    assert {r["origin"] for r in forwarded} == {
        f"{TD}/country/FI/node/fi-helsinki-1",
        f"{TD}/country/DE/operator/ops-1",
    }
    assert {r["origin_status"] for r in forwarded} == {"verified"}


async def test_both_audit_logs_name_forwarder_and_verified_origin(oslo, gateway, pki):
    fi = pki.tls(pki.leaf("FI", "node", "fi-helsinki-1"))
    await lookup(gateway.port, fi, variant_request())
    fi_id = f"{TD}/country/FI/node/fi-helsinki-1"
    [gw] = [r for r in audit_lines(gateway.audit.path) if r["method"] == "LookupVariant"]
    assert (gw["peer"], gw["origin"], gw["origin_status"], gw["forwarder"]) == (
        fi_id,
        fi_id,
        "direct",
        "",
    )
    assert gw["status"] == "OK"
    assert gw["results"] == 2
    [node] = [r for r in audit_lines(oslo.audit.path) if r["method"] == "LookupVariant"]
    assert node["peer"] == node["forwarder"] == f"{TD}/country/DE/gateway/eu-gw-1"
    assert (node["origin"], node["origin_status"]) == (fi_id, "verified")
    assert node["trace_id"]
    assert node["trace_id"] == gw["trace_id"]
    assert "2000" not in json.dumps([gw, node])  # no coordinates


# ------------------------------------------------------------------ forged origins


async def test_direct_caller_sending_origin_metadata_has_it_ignored_and_logged(oslo, pki, caplog):
    caplog.set_level(logging.WARNING, logger="allelemesh.security")
    operator = pki.tls(pki.leaf("DE", "operator", "portal-backend"))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lookup(oslo.port, operator, variant_request("gateways-only"),
                     metadata=(("x-mesh-origin", f"{TD}/country/DE/gateway/eu-gw-1"),))  # fmt: skip
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert refusal_logs(caplog)
    [record] = [r for r in audit_lines(oslo.audit.path) if r["method"] == "LookupVariant"]
    assert record["origin"] == f"{TD}/country/DE/operator/portal-backend"
    assert record["origin_status"] == "ignored"
    assert "2000" not in caplog.text


async def test_a_caller_that_may_not_forward_has_its_token_ignored(oslo, pki, tmp_path, caplog):
    """An operator signs a perfect token of its own claiming a NO node as origin."""
    caplog.set_level(logging.WARNING, logger="allelemesh.security")
    issued = pki.leaf("DE", "operator", "ops-1")
    request = variant_request("members")
    token = OriginSigner(pki.tls(issued)).sign(
        Principal.of_spiffe(pki.spiffe_id("NO", "node", "no-x")),
        pki.spiffe_id("NO", "node", "no-oslo-1"), LOOKUP, request.SerializeToString(), "",
    )  # fmt: skip
    assert token is not None
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await lookup(oslo.port, pki.tls(issued), request,
                     metadata=((ORIGIN_TOKEN_KEY, token), ("x-mesh-hop", "1")))  # fmt: skip
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert refusal_logs(caplog)


async def test_forged_replayed_and_misdirected_tokens_are_not_trusted(oslo, pki, caplog):
    """A valid gateway token works once; replayed, or presented by a node that did not
    make it, or made for another request, the origin is not trusted (anonymous)."""
    caplog.set_level(logging.WARNING, logger="allelemesh.security")
    gateway_tls = pki.tls(pki.leaf("DE", "gateway", "eu-gw-1"))
    audience = pki.spiffe_id("NO", "node", "no-oslo-1")
    no_node = Principal.of_spiffe(pki.spiffe_id("NO", "node", "no-tromso-1"))
    request = variant_request("members")
    data = request.SerializeToString()
    hop = ("x-mesh-hop", "1")
    token = OriginSigner(gateway_tls).sign(no_node, audience, LOOKUP, data, "")
    assert token is not None
    # Verified: the gateway may read "members" and so may the NO node it speaks for.
    first = await lookup(oslo.port, gateway_tls, request, ((ORIGIN_TOKEN_KEY, token), hop))
    assert set(by_dataset(first)) == {"members"}
    refused_before = len(refusal_logs(caplog))
    # The same token again: a replay.
    with pytest.raises(grpc.aio.AioRpcError) as replay:
        await lookup(oslo.port, gateway_tls, request, ((ORIGIN_TOKEN_KEY, token), hop))
    assert replay.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # A NO node forwarding the gateway's token (for a request it did not make).
    bergen_tls = pki.tls(pki.leaf("NO", "node", "no-bergen-1"))
    fresh = OriginSigner(gateway_tls).sign(no_node, audience, LOOKUP, data, "")
    with pytest.raises(grpc.aio.AioRpcError) as stolen:
        await lookup(oslo.port, bergen_tls, request, ((ORIGIN_TOKEN_KEY, str(fresh)), hop))
    assert stolen.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The gateway's own token, but made for another request.
    other = OriginSigner(gateway_tls).sign(no_node, audience, LOOKUP, b"another", "")
    with pytest.raises(grpc.aio.AioRpcError) as misbound:
        await lookup(oslo.port, gateway_tls, request, ((ORIGIN_TOKEN_KEY, str(other)), hop))
    assert misbound.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(refusal_logs(caplog)) >= refused_before + 3
    records = [r for r in audit_lines(oslo.audit.path) if r["method"] == "LookupVariant"]
    assert [r["origin_status"] for r in records] == ["verified"] + ["unverified"] * 3
    assert [r["origin"] for r in records[1:]] == ["unverified"] * 3
    assert records[0]["origin"] == str(no_node.name)


async def test_open_datasets_never_verify_a_token(indexes, pki, tmp_path, caplog):
    """The hot path: a request on open data resolves no identity (a garbage token is not
    even looked at); the same token on an allow-listed dataset is checked and refused."""
    from dataclasses import replace

    caplog.set_level(logging.WARNING, logger="allelemesh.security")
    tls = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    config = replace(oslo_config(indexes, tls, tmp_path / "unused.jsonl"), audit_path=None)
    node = await start_node(config)
    try:
        gateway_tls = pki.tls(pki.leaf("DE", "gateway", "eu-gw-1"))
        garbage = ((ORIGIN_TOKEN_KEY, "not.a.token"), ("x-mesh-hop", "1"))
        response = await lookup(node.port, gateway_tls, variant_request("open"), garbage)
        assert set(by_dataset(response)) == {"open"}
        assert refusal_logs(caplog) == []
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await lookup(node.port, gateway_tls, variant_request("gateways-only"), garbage)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert len(refusal_logs(caplog)) == 1
    finally:
        await node.stop(0)
