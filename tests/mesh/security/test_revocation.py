"""Revocation and trust changes reach open connections: deny list, bundle, ``--replace``."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from mesh.config import DatasetConfig, TlsConfig, load_node_config
from mesh.errors import ConfigError
from mesh.plumbing.channels import open_aio_channel
from mesh.security.trust import DenyList, format_serial
from mesh.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from tests.mesh.security.attack_helpers import (
    dataset,
    gateway,
    lookup,
    node,
    outcome_reason,
    peer,
    reason_of,
)
from tests.pki_factory import TestPki, serial_of

REPO = Path(__file__).resolve().parents[3]
#: The promise is one second; the store looks every 0.25 s.
WITHIN_S = 1.0


def pki_cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mesh", "pki", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("NO", "FI", "DE"))


@pytest.fixture
def deny_list(pki: TestPki) -> Path:
    path = pki.out / "deny-list.txt"
    path.write_text("# nothing revoked yet\n", encoding="utf-8")
    return path


def with_deny_list(tls: TlsConfig, path: Path) -> TlsConfig:
    return TlsConfig(ca=tls.ca, cert=tls.cert, key=tls.key, deny_list=path)


async def refused_within(stub: catalog_service_pb2_grpc.CatalogServiceStub) -> tuple[float, str]:
    """Call until refused (bounded); seconds it took and the refusal's reason."""
    started = time.monotonic()
    refusal = None
    while refusal is None and time.monotonic() - started < 5.0:
        try:
            await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=2)
        except grpc.aio.AioRpcError as error:
            refusal = error
        else:
            await asyncio.sleep(0.02)
    took = time.monotonic() - started
    assert refusal is not None, "still served 5 s after the change"
    assert refusal.code() == grpc.StatusCode.UNAUTHENTICATED, refusal
    print(f"refused {took:.3f} s after the change ({reason_of(refusal)})")
    return took, reason_of(refusal)


async def test_revoking_an_open_channels_certificate_takes_effect_within_a_second(
    pki: TestPki, deny_list: Path
) -> None:
    server = with_deny_list(pki.tls(pki.leaf("NO", "node", "no-oslo-1")), deny_list)
    client_cert = pki.leaf("FI", "gateway", "fi-gw")
    async with (
        node("no-oslo-1", "NO", server, []) as port,
        open_aio_channel(f"127.0.0.1:{port}", pki.tls(client_cert)) as channel,
    ):
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=5)
        out = pki_cli("revoke", "--out", str(pki.out), "--cert", str(client_cert.cert))
        assert format_serial(serial_of(client_cert.cert)) in out
        took, reason = await refused_within(stub)
        assert reason == "CERTIFICATE_REVOKED"
        assert took < WITHIN_S
        # A new connection is refused too.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await lookup(port, pki.tls(client_cert))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_revoked_spiffe_id_is_refused_whatever_its_certificate(
    pki: TestPki, deny_list: Path
) -> None:
    server = with_deny_list(pki.tls(pki.leaf("NO", "node", "no-oslo-1")), deny_list)
    other = pki.tls(pki.leaf("DE", "gateway", "de-gw"))
    first = pki.tls(pki.leaf("FI", "gateway", "fi-gw"))
    async with node("no-oslo-1", "NO", server, []) as port:
        await lookup(port, first)
        pki_cli("revoke", "--out", str(pki.out), "--spiffe-id", pki.uri("FI", "gateway", "fi-gw"))
        await asyncio.sleep(0.3)
        reissued = pki.tls(pki.leaf("FI", "gateway", "fi-gw", force=True))
        for tls in (first, reissued):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await lookup(port, tls)
            assert reason_of(caught.value) == "IDENTITY_REVOKED"
        await lookup(port, other)  # everyone else is still served


async def test_a_trust_bundle_change_drops_an_open_channels_access(pki: TestPki) -> None:
    other = pki.foreign()
    bundle = pki.out / "bundle.pem"
    bundle.write_bytes(pki.root_cert.read_bytes() + other.root_cert.read_bytes())
    server = pki.tls(pki.leaf("NO", "node", "no-oslo-1"), bundle)
    guest = other.tls(other.leaf("LU", "gateway", "lu-gw"), pki.root_cert)
    async with (
        node("no-oslo-1", "NO", server, []) as port,
        open_aio_channel(f"127.0.0.1:{port}", guest) as channel,
    ):
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=5)
        bundle.write_bytes(pki.root_cert.read_bytes())  # the other federation leaves
        took, reason = await refused_within(stub)
    assert reason == "ISSUER_UNTRUSTED"
    assert took < WITHIN_S


async def test_replace_revokes_the_predecessor(pki: TestPki, tmp_path: Path) -> None:
    issued = pki.leaf("FI", "gateway", "fi-gw")
    kept = TlsConfig(ca=(pki.root_cert,), cert=tmp_path / "old.crt", key=tmp_path / "old.key")
    shutil.copy(issued.cert, kept.cert)
    shutil.copy(issued.key, kept.key)
    out = pki_cli(
        "issue", "--out", str(pki.out), "--cc", "FI", "--role", "gateway", "--name", "fi-gw",
        "--replace",
    )  # fmt: skip
    assert f"revoked serial {format_serial(serial_of(kept.cert))}" in out
    deny = pki.out / "deny-list.txt"
    assert DenyList.load(deny).serials == {serial_of(kept.cert)}
    server = with_deny_list(pki.tls(pki.leaf("NO", "node", "no-oslo-1")), deny)
    async with node("no-oslo-1", "NO", server, []) as port:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await lookup(port, kept)
        assert reason_of(caught.value) == "CERTIFICATE_REVOKED"
        await lookup(port, pki.tls(issued))  # the new certificate works


async def test_gateway_stops_trusting_a_revoked_peer_within_a_second(
    pki: TestPki, deny_list: Path, tmp_path: Path
) -> None:
    node_cert = pki.leaf("NO", "node", "no-oslo-1")
    gw = with_deny_list(pki.tls(pki.leaf("DE", "gateway", "eu-gw-1")), deny_list)
    portal = pki.tls(pki.leaf("DE", "operator", "portal"))
    index, other = dataset(tmp_path, "no-a", 12), dataset(tmp_path, "fi-a", 3)
    fi = pki.tls(pki.leaf("FI", "node", "fi-hki-1"))
    async with (
        node("no-oslo-1", "NO", pki.tls(node_cert), [DatasetConfig("no-a", index)]) as port,
        node("fi-hki-1", "FI", fi, [DatasetConfig("fi-a", other)]) as fi_port,
        gateway(gw, [peer("no-oslo-1", "NO", port), peer("fi-hki-1", "FI", fi_port)]) as gp,
    ):
        first = await lookup(gp, portal)
        assert [f.counts.allele_count for f in first.frequencies] == [12, 3]
        pki_cli("revoke", "--out", str(pki.out), "--cert", str(node_cert.cert))
        started = time.monotonic()
        while True:
            response = await lookup(gp, portal)
            if response.outcomes[0].status.code != 0:
                break
            assert time.monotonic() - started < 5.0
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
    print(f"peer refused {took:.3f} s after the revocation")
    assert took < WITHIN_S
    by_node = {o.node_id: o for o in response.outcomes}
    assert outcome_reason(by_node["no-oslo-1"]) == "CERTIFICATE_REVOKED"
    assert [f.node_id for f in response.frequencies] == ["fi-hki-1"]


def test_deny_list_errors_name_the_line(tmp_path: Path) -> None:
    assert DenyList.parse(
        "# c\n\nserial 0a  # note\nspiffe spiffe://t/country/NO/node/n\n", "f"
    ) == (DenyList(frozenset({10}), frozenset({"spiffe://t/country/NO/node/n"})))
    for text, message in [
        ("serial xyz\n", "f line 1: serial 'xyz' is not a hexadecimal"),
        ("\nspiffe https://x\n", "f line 2"),
        ("crl 12\n", "f line 1: unknown entry 'crl'"),
        ("serial\n", "f line 1: expected"),
    ]:
        with pytest.raises(ConfigError, match=message):
            DenyList.parse(text, "f")


def test_deny_list_in_the_tls_table(pki: TestPki, tmp_path: Path) -> None:
    leaf = pki.leaf("NO", "node", "no-oslo-1")
    toml = tmp_path / "node.toml"
    body = (
        '[node]\nid = "no-oslo-1"\ncountry = "NO"\nlisten = "127.0.0.1:0"\n[tls]\n'
        f'ca = "{pki.root_cert}"\ncert = "{leaf.cert}"\nkey = "{leaf.key}"\n'
        'deny_list = "revoked.txt"\n'
    )
    toml.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"deny_list.*revoked\.txt does not exist"):
        load_node_config(toml)  # a typo in the path must not silently revoke nothing
    (tmp_path / "revoked.txt").write_text("", encoding="utf-8")
    config = load_node_config(toml)
    assert config.tls is not None
    assert config.tls.deny_list == tmp_path / "revoked.txt"


async def test_gateway_drops_a_peer_whose_ca_left_its_bundle_within_a_second(
    pki: TestPki, tmp_path: Path
) -> None:
    other = pki.foreign()
    both = pki.root_cert.read_bytes() + other.root_cert.read_bytes()
    gateway_bundle, node_bundle = pki.out / "gw-bundle.pem", pki.out / "lu-bundle.pem"
    gateway_bundle.write_bytes(both)
    node_bundle.write_bytes(both)
    lu = other.tls(other.leaf("LU", "node", "lu-lux-1"), node_bundle)
    gw = pki.tls(pki.leaf("DE", "gateway", "eu-gw-1"), gateway_bundle)
    portal = pki.tls(pki.leaf("DE", "operator", "portal"))
    fi = pki.tls(pki.leaf("FI", "node", "fi-hki-1"))
    lu_index, fi_index = dataset(tmp_path, "lu-a", 5), dataset(tmp_path, "fi-a", 3)
    async with (
        node("lu-lux-1", "LU", lu, [DatasetConfig("lu-a", lu_index)]) as lu_port,
        node("fi-hki-1", "FI", fi, [DatasetConfig("fi-a", fi_index)]) as fi_port,
        gateway(gw, [peer("lu-lux-1", "LU", lu_port), peer("fi-hki-1", "FI", fi_port)]) as gp,
    ):
        first = await lookup(gp, portal)
        assert sorted(f.dataset_id for f in first.frequencies) == ["fi-a", "lu-a"]
        gateway_bundle.write_bytes(pki.root_cert.read_bytes())  # LU's federation leaves
        started = time.monotonic()
        while True:
            response = await lookup(gp, portal)
            if {o.node_id: o for o in response.outcomes}["lu-lux-1"].status.code != 0:
                break
            assert time.monotonic() - started < 5.0
            await asyncio.sleep(0.02)
        took = time.monotonic() - started
    print(f"peer dropped {took:.3f} s after the bundle change")
    assert took < WITHIN_S
    refused = {o.node_id: o for o in response.outcomes}["lu-lux-1"]
    assert refused.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert [f.dataset_id for f in response.frequencies] == ["fi-a"]
