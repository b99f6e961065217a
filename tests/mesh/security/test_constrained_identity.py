"""Identity is what the issuing CA may vouch for: constrained country CAs, the country rule,
and one SPIFFE ID per certificate. Real nodes and a gateway on mTLS; attack certificates
from :mod:`tests.pki_factory`."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.config import DatasetConfig
from mesh.plumbing.channels import open_aio_channel
from mesh.security.identity import SpiffeId
from mesh.security.tls import PeerIdentityVerifier
from mesh.security.trust import IdentityRefusedError, TrustStore, ca_country
from tests.mesh.security.attack_helpers import (
    GATEWAYS,
    dataset,
    gateway,
    lookup,
    node,
    outcome_reason,
    peer,
    reason_of,
)
from tests.mesh.security.conftest import expect_refused
from tests.pki_factory import TestPki


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("NO", "FI", "DE"))


@pytest.fixture(scope="module")
def gateways_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dataset(tmp_path_factory.mktemp("gw-only"), "gateways-only", 47)


def test_country_cas_carry_name_constraints(pki: TestPki) -> None:
    ca = x509.load_pem_x509_certificate(pki.country("NO").cert.read_bytes())
    extension = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert extension.critical
    permitted = extension.value.permitted_subtrees
    assert permitted is not None
    assert x509.UniformResourceIdentifier("allelemesh.example") in permitted
    [directory] = [p for p in permitted if isinstance(p, x509.DirectoryName)]
    attributes = {a.oid: a.value for a in directory.value}
    assert attributes == {
        NameOID.COUNTRY_NAME: "NO",
        NameOID.ORGANIZATION_NAME: "allelemesh.example",
        NameOID.ORGANIZATIONAL_UNIT_NAME: "production",  # the tier (mesh.security.tiers)
    }
    assert extension.value.excluded_subtrees is None
    assert ca_country(ca) == "NO"
    leaf = x509.load_pem_x509_certificate(pki.leaf("NO", "node", "no-oslo-1").cert.read_bytes())
    assert leaf.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "NO"


async def test_tls_layer_enforces_the_constraints(pki: TestPki) -> None:
    """BoringSSL refuses at the handshake what breaks a subtree: another country's subject,
    another trust domain's URI."""
    server = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    no_subject = pki.forged("FI", [pki.uri("NO", "gateway", "evil")], "evil-dn", subject_cc="NO")
    other_td = pki.forged("FI", [pki.uri("FI", "gateway", "x", "evil.example")], "evil-td")
    async with node("no-oslo-1", "NO", server, []) as port:
        await expect_refused(port, pki.tls(no_subject))
        await expect_refused(port, pki.tls(other_td))


async def test_fi_signed_norwegian_gateway_is_refused_as_a_client(
    pki: TestPki, gateways_only: Path
) -> None:
    """On main this certificate read NO's gateway-only dataset."""
    server = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    evil = pki.tls(pki.forged("FI", [pki.uri("NO", "gateway", "evil")], "evil"))
    honest = pki.tls(pki.leaf("NO", "gateway", "no-gw"))
    datasets = [DatasetConfig("gateways-only", gateways_only, allow=(GATEWAYS,))]
    async with node("no-oslo-1", "NO", server, datasets) as port:
        answered = await lookup(port, honest, ["gateways-only"])
        assert [f.counts.allele_count for f in answered.frequencies] == [47]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await lookup(port, evil, ["gateways-only"])
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(caught.value) == "ISSUER_COUNTRY_MISMATCH"
    assert "FI CA" in (caught.value.details() or "")


async def test_two_spiffe_ids_are_refused_before_any_handler(pki: TestPki) -> None:
    server = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    uris = [pki.uri("NO", "node", "a"), pki.uri("NO", "gateway", "b")]
    twice = pki.tls(pki.forged("NO", uris, "two-ids"))
    async with (
        node("no-oslo-1", "NO", server, []) as port,
        open_aio_channel(f"127.0.0.1:{port}", twice) as channel,
    ):
        # Health has no policy of its own: only the guard can refuse it.
        stub = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(caught.value) == "IDENTITY_AMBIGUOUS"


def test_trust_store_verdicts(pki: TestPki) -> None:
    store = TrustStore(pki.tls(pki.leaf("NO", "node", "no-oslo-1")))

    def check(issued: object) -> SpiffeId:
        pem = issued.cert.read_bytes()  # type: ignore[attr-defined]
        leaf, *chain = x509.load_pem_x509_certificates(pem)
        return store.check(leaf, chain)

    assert check(pki.leaf("FI", "node", "fi-1")) == pki.spiffe_id("FI", "node", "fi-1")
    legacy = pki.unconstrained_country("SE")
    cases = {
        "ISSUER_COUNTRY_MISMATCH": pki.forged("FI", [pki.uri("NO", "node", "x")], "x"),
        "IDENTITY_AMBIGUOUS": pki.forged(
            "NO", [pki.uri("NO", "node", "y"), pki.uri("NO", "node", "z")], "yz"
        ),
        "IDENTITY_MISSING": pki.forged("NO", [], "none"),
        # A CA without a country vouches for nobody, whatever the TLS stack accepted.
        "ISSUER_COUNTRY_MISMATCH ": pki.forged(
            "SE", [pki.uri("SE", "node", "se-1")], "se-1", signer=legacy
        ),
        "ISSUER_UNTRUSTED": pki.foreign().leaf("NO", "node", "no-oslo-1"),
    }
    for reason, issued in cases.items():
        with pytest.raises(IdentityRefusedError) as caught:
            check(issued)
        assert caught.value.reason == reason.strip(), caught.value.message


async def test_gateway_refuses_a_fi_signed_norwegian_peer(pki: TestPki, tmp_path: Path) -> None:
    """On main the gateway pooled these made-up counts as Norway's."""
    fake = dataset(tmp_path, "no-fake", 999)
    real = dataset(tmp_path, "fi-a", 10)
    evil = pki.tls(pki.forged("FI", [pki.uri("NO", "node", "no-oslo-1")], "no-oslo-1"))
    fi = pki.tls(pki.leaf("FI", "node", "fi-hki-1"))
    gw = pki.tls(pki.leaf("DE", "gateway", "eu-gw-1"))
    portal = pki.tls(pki.leaf("DE", "operator", "portal"))
    async with (
        node("no-oslo-1", "NO", evil, [DatasetConfig("no-fake", fake)]) as evil_port,
        node("fi-hki-1", "FI", fi, [DatasetConfig("fi-a", real)]) as fi_port,
        gateway(gw, [peer("no-oslo-1", "NO", evil_port), peer("fi-hki-1", "FI", fi_port)]) as gp,
    ):
        response = await lookup(gp, portal)
    outcomes = {o.node_id: o for o in response.outcomes}
    assert outcomes["fi-hki-1"].status.code == 0
    refused = outcomes["no-oslo-1"]
    assert refused.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert outcome_reason(refused) == "ISSUER_COUNTRY_MISMATCH"
    assert "FI CA" in refused.status.message
    assert [f.dataset_id for f in response.frequencies] == ["fi-a"]
    assert response.pooled.allele_count == 10


async def test_client_side_refuses_a_server_with_two_spiffe_ids(pki: TestPki) -> None:
    uris = [pki.uri("NO", "node", "no-oslo-1"), pki.uri("NO", "gateway", "no-gw")]
    server = pki.tls(pki.forged("NO", uris, "two-ids"))
    verifier = PeerIdentityVerifier(pki.tls(pki.leaf("DE", "gateway", "eu-gw-1")))
    async with node("no-oslo-1", "NO", server, []) as port:
        with pytest.raises(Exception) as caught:
            await verifier.verify(f"127.0.0.1:{port}", pki.uri("NO", "node", "*"))
    assert getattr(caught.value, "reason", "") == "IDENTITY_AMBIGUOUS"
