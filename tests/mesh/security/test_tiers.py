"""Tiers are certified and never exchange queries: real nodes and a gateway on mTLS, one PKI
per tier, and a trust bundle that (by mistake) lists both tiers' roots."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from mesh.config import DatasetConfig, NodeConfig, TlsConfig, load_node_config
from mesh.errors import ConfigError
from mesh.security.tiers import beacon_environment, tier_of_certificate
from nodes.serve.server import start_node
from tests.mesh.security.attack_helpers import (
    dataset,
    gateway,
    lookup,
    node,
    outcome_reason,
    peer,
    reason_of,
)
from tests.pki_factory import TestPki


@pytest.fixture
def tiers(tmp_path: Path) -> tuple[TestPki, TestPki]:
    production = TestPki.create(tmp_path / "prod", "prod.allelemesh.example")
    staging = TestPki.create(tmp_path / "staging", "staging.allelemesh.example", tier="staging")
    return production, staging


def mixed(pki: TestPki, leaf: str, cc: str, role: str, *others: TestPki) -> TlsConfig:
    """``[tls]`` trusting every given PKI's root: the misconfiguration tiers must survive."""
    issued = pki.leaf(cc, role, leaf)
    return pki.tls(issued, pki.root_cert, *(o.root_cert for o in others))


def test_pki_writes_the_tier_into_every_certificate(tiers: tuple[TestPki, TestPki]) -> None:
    _, staging = tiers
    ca = x509.load_pem_x509_certificate(staging.country("NO").cert.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    [directory] = [
        p for p in constraints.permitted_subtrees or () if isinstance(p, x509.DirectoryName)
    ]
    units = directory.value.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert [u.value for u in units] == ["staging"]
    leaf = x509.load_pem_x509_certificate(staging.leaf("NO", "node", "s1").cert.read_bytes())
    assert tier_of_certificate(leaf) == "staging"
    assert beacon_environment("staging") == "test"
    assert beacon_environment("production") == "prod"


async def test_configured_tier_must_be_the_certified_one(
    tiers: tuple[TestPki, TestPki], tmp_path: Path
) -> None:
    _, staging = tiers
    tls = staging.tls(staging.leaf("NO", "node", "s-no"))
    config = NodeConfig(id="s-no", country="NO", listen="127.0.0.1:0", datasets=(), tls=tls)
    with pytest.raises(ConfigError, match=r"tier: 'production' but certificate .* tier 'staging'"):
        await start_node(config)  # tier defaults to production: the certificate says no
    toml = tmp_path / "node.toml"
    toml.write_text('[node]\nid = "x"\ncountry = "NO"\nlisten = "127.0.0.1:1"\ntier = "Prod!"\n')
    with pytest.raises(ConfigError, match=r"\[node\]\.tier: 'Prod!' must be a tier name"):
        load_node_config(toml)


async def test_production_node_refuses_a_staging_caller(
    tiers: tuple[TestPki, TestPki], tmp_path: Path
) -> None:
    production, staging = tiers
    server = mixed(production, "p-no", "NO", "node", staging)
    staging_gw = mixed(staging, "s-gw", "NO", "gateway", production)
    production_gw = mixed(production, "p-gw", "NO", "gateway", staging)
    datasets = [DatasetConfig("ds", dataset(tmp_path, "ds", 7))]
    async with node("p-no", "NO", server, datasets) as port:
        answered = await lookup(port, production_gw)
        assert [f.counts.allele_count for f in answered.frequencies] == [7]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await lookup(port, staging_gw)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason_of(caught.value) == "TIER_MISMATCH"
    details = caught.value.details() or ""
    assert "'staging'" in details
    assert "'production'" in details


async def test_production_gateway_never_asks_a_staging_peer(
    tiers: tuple[TestPki, TestPki], tmp_path: Path
) -> None:
    """A [[peers]] entry pointing at a staging node by mistake: refused, named, not pooled."""
    production, staging = tiers
    prod_node = mixed(production, "p-no", "NO", "node", staging)
    stage_node = staging.tls(
        staging.leaf("FI", "node", "s-fi"), staging.root_cert, production.root_cert
    )
    gw = mixed(production, "p-gw", "NO", "gateway", staging)
    datasets_p = [DatasetConfig("prod-ds", dataset(tmp_path, "prod-ds", 7))]
    datasets_s = [DatasetConfig("stage-ds", dataset(tmp_path, "stage-ds", 900))]
    stage_config = NodeConfig(
        id="s-fi", country="FI", listen="127.0.0.1:0", datasets=tuple(datasets_s),
        tls=stage_node, reload_interval_s=0, tier="staging",
    )  # fmt: skip
    staged = await start_node(stage_config)
    try:
        async with node("p-no", "NO", prod_node, datasets_p) as p_port:
            peers = [peer("p-no", "NO", p_port), peer("s-fi", "FI", staged.port)]
            async with gateway(gw, peers) as gw_port:
                answer = await lookup(gw_port, mixed(production, "p-op", "NO", "operator"))
    finally:
        await staged.stop(0)
    assert [f.counts.allele_count for f in answer.frequencies] == [7]
    assert answer.pooled.allele_count == 7  # nothing pooled from the staging node
    [refused] = [o for o in answer.outcomes if o.node_id == "s-fi"]
    assert outcome_reason(refused) == "TIER_MISMATCH"
    assert "'staging'" in refused.status.message
    assert "'production'" in refused.status.message


def test_check_config_names_a_tier_the_certificate_does_not_carry(
    tiers: tuple[TestPki, TestPki], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mesh.cli import main

    _, staging = tiers
    issued = staging.leaf("NO", "node", "s-cc")
    toml = tmp_path / "node.toml"
    toml.write_text(
        f'[node]\nid = "s-cc"\ncountry = "NO"\nlisten = "127.0.0.1:0"\ntier = "production"\n\n'
        f'[tls]\nca = ["{staging.root_cert}"]\ncert = "{issued.cert}"\nkey = "{issued.key}"\n'
    )
    assert main(["node", "check-config", str(toml)]) == 2
    assert "tier: 'production' but certificate" in capsys.readouterr().err


def test_pki_cli_issues_per_tier_identities(tmp_path: Path) -> None:
    from mesh.cli import main

    out = tmp_path / "staging-pki"
    assert main(["pki", "init", "--out", str(out), "--trust-domain", "staging.allelemesh.example",
                 "--tier", "staging"]) == 0  # fmt: skip
    assert main(["pki", "country", "--cc", "NO", "--out", str(out)]) == 0
    assert main(["pki", "issue", "--cc", "NO", "--role", "node", "--name", "s-1",
                 "--out", str(out)]) == 0  # fmt: skip
    leaf = x509.load_pem_x509_certificate((out / "s-1.crt").read_bytes())
    assert tier_of_certificate(leaf) == "staging"
    assert 'tier = "staging"' in (out / "pki.toml").read_text()
    assert main(["pki", "init", "--out", str(tmp_path / "x"), "--trust-domain", "x.example",
                 "--tier", "Bad Tier"]) == 2  # fmt: skip
