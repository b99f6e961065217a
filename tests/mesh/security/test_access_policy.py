"""Access policy, privacy safeguards and audit, over real mTLS with generated certificates.

One NO node holds four datasets built from VCFs written here; callers present
certificates of other countries and roles. Expected counts are worked out by hand
from the records below.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig, TlsConfig
from mesh.errors import ConfigError
from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import RunningNode, start_node
from tests.mesh_harness import fast_settings
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

pytestmark = pytest.mark.asyncio

GATEWAYS = "spiffe://allelemesh.example/country/*/gateway/*"
FI_NODES = "spiffe://allelemesh.example/country/FI/node/*"
PORTAL = "spiffe://allelemesh.example/country/DE/operator/portal-backend"

#: AC 3 (suppressed below 5), AC 47 (rounds to 50), AC 0 (released as 0).
RECORDS = [
    SiteRecord("1", 1000, "A", ["G"], GroupCounts(an=1204, ac=[3], hom=[0]),
               {"NO": GroupCounts(an=1000, ac=[3], hom=[0])}),
    SiteRecord("1", 2000, "C", ["T"], GroupCounts(an=1204, ac=[47], hom=[4]),
               {"NO": GroupCounts(an=1000, ac=[44], hom=[4])}),
    SiteRecord("1", 3000, "G", ["A"], GroupCounts(an=1204, ac=[0], hom=[0]),
               {"NO": GroupCounts(an=1000, ac=[0], hom=[0])}),
]  # fmt: skip


def variant(pos: int, ref: str, alt: str) -> allele_pb2.Variant:
    return allele_pb2.Variant(chromosome="1", position=pos, reference_bases=ref,
                              alternate_bases=alt)  # fmt: skip


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("policy")
    vcf = write_sites_vcf(root / "no.vcf", RECORDS, ["NO"], style="gdi", bgzip=True)
    out = {}
    for dataset_id in ("open", "gateways-only", "counts", "budgeted"):
        out[dataset_id] = root / dataset_id
        build_index(BuildOptions(inputs=[vcf], dataset_id=dataset_id, out=out[dataset_id],
                                 progress=False))  # fmt: skip
    return out


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("NO", "FI", "DE"))


def node_config(indexes: dict[str, Path], tls: TlsConfig, audit: Path) -> NodeConfig:
    return NodeConfig(
        id="no-oslo-1",
        country="NO",
        listen="127.0.0.1:0",
        tls=tls,
        reload_interval_s=0,
        audit_path=audit,
        state_dir=audit.parent / "state",
        datasets=(
            DatasetConfig("open", indexes["open"]),
            DatasetConfig("gateways-only", indexes["gateways-only"], allow=(GATEWAYS,)),
            DatasetConfig(
                "counts",
                indexes["counts"],
                allow=(GATEWAYS, FI_NODES, PORTAL),
                granularity={GATEWAYS: "count", FI_NODES: "boolean", PORTAL: "count"},
                min_allele_count=5,
                round_counts_to=10,
            ),
            DatasetConfig("budgeted", indexes["budgeted"], query_budget=(3, 60.0)),
        ),
    )


@pytest.fixture
async def node(indexes, pki, tmp_path) -> AsyncIterator[RunningNode]:
    tls = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    running = await start_node(node_config(indexes, tls, tmp_path / "audit" / "no.jsonl"))
    try:
        yield running
    finally:
        await running.stop(0)


def stub_as(pki: TestPki, port: int, cc: str, role: str, name: str):
    channel = open_aio_channel(f"127.0.0.1:{port}", pki.tls(pki.leaf(cc, role, name)))
    return channel, allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
    return info


async def test_named_dataset_denied_to_a_caller_the_allow_list_does_not_name(node, pki):
    channel, stub = stub_as(pki, node.port, "FI", "node", "fi-helsinki-1")
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(
                    variant=variant(2000, "C", "T"), dataset_ids=["gateways-only"]
                ),
                timeout=5,
            )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(caught.value)
    assert info.reason == "DATASET_ACCESS_DENIED"
    assert info.metadata["dataset_id"] == "gateways-only"
    assert "fi-helsinki-1" in caught.value.details()


async def test_unnamed_datasets_are_narrowed_to_what_the_caller_may_see(node, pki):
    channel, stub = stub_as(pki, node.port, "FI", "node", "fi-helsinki-1")
    async with channel:
        response = await stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant(2000, "C", "T")), timeout=5
        )
    by_id = {f.dataset_id: f for f in response.frequencies}
    assert set(by_id) == {"open", "counts", "budgeted"}
    # FI nodes see "counts" at boolean granularity: it exists, nothing more.
    assert by_id["counts"].counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED
    assert by_id["counts"].counts.allele_count == 0
    assert list(by_id["counts"].populations) == []
    assert by_id["open"].counts.allele_count == 47
    # Pooled: open 47 + budgeted 47; the suppressed row adds nothing and makes it inexact.
    assert response.pooled.allele_count == 94
    assert response.pooled.allele_number == 2408
    assert response.pooled.precision == allele_pb2.COUNT_PRECISION_ROUNDED


async def test_suppression_and_rounding_for_a_gateway(node, pki):
    channel, stub = stub_as(pki, node.port, "DE", "gateway", "eu-gw-1")
    async with channel:
        small, rounded, zero = [
            (await stub.LookupVariant(allele_service_pb2.LookupVariantRequest(
                variant=variant(pos, ref, alt), dataset_ids=["counts"]), timeout=5)).frequencies[0]
            for pos, ref, alt in ((1000, "A", "G"), (2000, "C", "T"), (3000, "G", "A"))
        ]  # fmt: skip
    assert small.counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED
    assert (small.counts.allele_count, small.counts.allele_number) == (0, 0)
    assert rounded.counts.precision == allele_pb2.COUNT_PRECISION_ROUNDED
    # AC 47 -> 50, AN 1204 -> 1200, hom 4 -> 0, het 39 -> 40; AF from the rounded numbers
    assert (
        rounded.counts.allele_count,
        rounded.counts.allele_number,
        rounded.counts.homozygous_count,
        rounded.counts.heterozygous_count,
    ) == (50, 1200, 0, 40)
    assert rounded.counts.allele_frequency == pytest.approx(50 / 1200)
    assert list(rounded.populations) == []  # count granularity: no population rows
    assert zero.counts.precision == allele_pb2.COUNT_PRECISION_ROUNDED
    assert zero.counts.allele_count == 0


async def test_query_budget_is_enforced_per_caller_with_retry_info(node, pki):
    channel, stub = stub_as(pki, node.port, "DE", "gateway", "eu-gw-1")
    other, other_stub = stub_as(pki, node.port, "FI", "node", "fi-helsinki-1")
    request = allele_service_pb2.LookupVariantRequest(
        variant=variant(2000, "C", "T"), dataset_ids=["budgeted"]
    )
    async with channel, other:
        for _ in range(3):
            assert (await stub.LookupVariant(request, timeout=5)).frequencies
        # Spent: answered without its rows, the refusal is the dataset's outcome.
        spent = await stub.LookupVariant(request, timeout=5)
        assert (await other_stub.LookupVariant(request, timeout=5)).frequencies
    assert not spent.frequencies
    [refused] = spent.outcomes[0].datasets
    assert refused.dataset_id == "budgeted"
    assert refused.status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    status = refused.status
    retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(retry) == 1
    info = error_details_pb2.RetryInfo()
    retry[0].Unpack(info)
    assert 0 < info.retry_delay.seconds <= 60


async def test_through_a_gateway_pooled_precision_and_audit(node, pki, tmp_path):
    """Portal -> gateway (mTLS) -> node: the node releases what both the gateway and the
    portal may see (not "gateways-only": the portal may not read it), the gateway pools
    without claiming exactness, and the node's audit log names the gateway as peer and
    forwarder and the portal as the verified origin, without coordinates."""
    from gateway.server import start_gateway

    gateway_tls = pki.tls(pki.leaf("DE", "gateway", "eu-gw-1"))
    peer = PeerConfig(
        id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{node.port}",),
        identity="spiffe://allelemesh.example/country/NO/node/no-oslo-1",
    )  # fmt: skip
    config = GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,), tls=gateway_tls)
    gateway = await start_gateway(config, insecure=False, settings=fast_settings())
    try:
        channel, stub = stub_as(pki, gateway.port, "DE", "operator", "portal-backend")
        async with channel:
            response = await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(variant=variant(2000, "C", "T")), timeout=5
            )
    finally:
        await gateway.stop(0)
    [outcome] = response.outcomes
    assert outcome.status.code == 0
    by_id = {f.dataset_id: f for f in response.frequencies}
    assert set(by_id) == {"open", "counts", "budgeted"}
    assert by_id["counts"].counts.allele_count == 50
    assert response.pooled.allele_count == 47 * 2 + 50
    assert response.pooled.precision == allele_pb2.COUNT_PRECISION_ROUNDED

    lines = [json.loads(line) for line in
             (tmp_path / "audit" / "no.jsonl").read_text().splitlines()]  # fmt: skip
    [record] = [r for r in lines if r["method"] == "LookupVariant"]
    assert record["peer"] == "spiffe://allelemesh.example/country/DE/gateway/eu-gw-1"
    assert record["forwarder"] == record["peer"]
    assert record["origin"] == PORTAL
    assert record["origin_status"] == "verified"
    assert record["status"] == "OK"
    assert record["results"] == 3
    assert sorted(record["dataset_ids"]) == ["budgeted", "counts", "open"]
    assert "2000" not in json.dumps(record)


async def test_a_peer_with_another_identity_is_refused_as_its_outcome(node, pki, indexes):
    """The registry says FI; the address answers with the NO node's certificate."""
    from gateway.server import start_gateway

    fi_tls = pki.tls(pki.leaf("FI", "node", "fi-helsinki-1"))
    fi = await start_node(NodeConfig(
        id="fi-helsinki-1", country="FI", listen="127.0.0.1:0", tls=fi_tls,
        reload_interval_s=0, datasets=(DatasetConfig("open", indexes["open"]),)))  # fmt: skip
    try:
        peers = (
            PeerConfig(id="fi-helsinki-1", country="FI", addresses=(f"127.0.0.1:{fi.port}",)),
            PeerConfig(id="fi-impostor", country="FI", addresses=(f"127.0.0.1:{node.port}",),
                       identity="spiffe://allelemesh.example/country/FI/node/fi-helsinki-1"),
        )  # fmt: skip
        tls = pki.tls(pki.leaf("DE", "gateway", "eu-gw-1"))
        gateway = await start_gateway(
            GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", peers=peers, tls=tls),
            insecure=False, settings=fast_settings())  # fmt: skip
        try:
            channel, stub = stub_as(pki, gateway.port, "DE", "operator", "portal-backend")
            async with channel:
                response = await stub.LookupVariant(
                    allele_service_pb2.LookupVariantRequest(variant=variant(2000, "C", "T")),
                    timeout=5,
                )
        finally:
            await gateway.stop(0)
    finally:
        await fi.stop(0)
    outcomes = {o.node_id: o for o in response.outcomes}
    assert outcomes["fi-helsinki-1"].status.code == 0
    impostor = outcomes["fi-impostor"].status
    assert impostor.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "no-oslo-1" in impostor.message
    assert [f.node_id for f in response.frequencies] == ["fi-helsinki-1"]


async def test_unwritable_audit_file_stops_the_node_at_start(indexes, pki, tmp_path):
    tls = pki.tls(pki.leaf("NO", "node", "no-oslo-1"))
    directory = tmp_path / "is-a-directory"
    directory.mkdir()
    config = replace(node_config(indexes, tls, directory), audit_path=directory)
    with pytest.raises(ConfigError, match=r"\[audit\]\.path"):
        await start_node(config)


async def test_rotated_client_certificate_is_used_without_a_restart(node, pki, tmp_path):
    """The gateway's own certificate files are replaced: its next calls present the new one."""
    import shutil

    from gateway.server import start_gateway

    first = pki.leaf("DE", "gateway", "eu-gw-1")
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "gateway.crt", live / "gateway.key"
    shutil.copy(first.cert, cert)
    shutil.copy(first.key, key)
    tls = TlsConfig(ca=(pki.root_cert,), cert=cert, key=key)
    peer = PeerConfig(id="no-oslo-1", country="NO", addresses=(f"127.0.0.1:{node.port}",))
    config = GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,), tls=tls)
    gateway = await start_gateway(config, insecure=False, settings=fast_settings())
    try:
        channel, stub = stub_as(pki, gateway.port, "DE", "operator", "portal-backend")
        async with channel:
            request = allele_service_pb2.LookupVariantRequest(
                variant=variant(2000, "C", "T"), dataset_ids=["open"]
            )
            assert (await stub.LookupVariant(request, timeout=5)).frequencies
            second = pki.leaf("DE", "gateway", "eu-gw-2")
            shutil.copy(second.key, key)
            shutil.copy(second.cert, cert)
            await asyncio.sleep(1.2)  # the watcher looks at the files at most once a second
            assert (await stub.LookupVariant(request, timeout=5)).frequencies
    finally:
        await gateway.stop(0)
    peers = [json.loads(line)["peer"] for line in
             (tmp_path / "audit" / "no.jsonl").read_text().splitlines()]  # fmt: skip
    assert peers[0].endswith("/gateway/eu-gw-1")
    assert peers[-1].endswith("/gateway/eu-gw-2")
