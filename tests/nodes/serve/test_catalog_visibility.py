"""What the catalogue shows a caller of datasets it may not query ([node] catalog_visibility).

A real NO node over mTLS (certificates generated here) holds an open dataset and one
only NO operators may query; FI node certificates are refused it. The gateway in front
is refused it too, so what it passes on (gRPC, /v1 and Beacon JSON) is what the node
shows a refused caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from gateway.http.app import start_http
from gateway.server import start_gateway
from mesh.config import (
    DatasetConfig,
    GatewayConfig,
    NodeConfig,
    PeerConfig,
    TlsConfig,
    load_node_config,
)
from mesh.errors import ConfigError
from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import RunningNode, start_node
from tests.mesh_harness import fast_settings
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

NO_OPERATORS = "spiffe://allelemesh.example/country/NO/operator/*"
NODE_ID = "no-oslo-1"
RECORDS = [
    SiteRecord("1", 1000, "A", ["G"], GroupCounts(an=1204, ac=[30], hom=[2]),
               {"NO": GroupCounts(an=1000, ac=[25], hom=[2])}),
]  # fmt: skip


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("catalog-visibility")
    vcf = write_sites_vcf(root / "no.vcf", RECORDS, ["NO"], style="gdi", bgzip=True)
    out = {}
    for dataset_id in ("open", "restricted"):
        out[dataset_id] = root / dataset_id
        options = BuildOptions(
            inputs=[vcf], dataset_id=dataset_id, out=out[dataset_id], progress=False,
            title=f"{dataset_id} cohort", description="a Norwegian cohort",
        )  # fmt: skip
        build_index(options)
    return out


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki", countries=("NO", "FI", "DE"))


@pytest.fixture(params=["existence", "hidden", "full"])
async def node(request, indexes, pki) -> AsyncIterator[RunningNode]:
    config = NodeConfig(
        id=NODE_ID,
        country="NO",
        listen="127.0.0.1:0",
        tls=pki.tls(pki.leaf("NO", "node", NODE_ID)),
        reload_interval_s=0,
        datasets=(
            DatasetConfig("open", indexes["open"]),
            DatasetConfig("restricted", indexes["restricted"], allow=(NO_OPERATORS,)),
        ),
        catalog_visibility=request.param,
    )
    running = await start_node(config)
    try:
        yield running
    finally:
        await running.stop(0)


def catalog_as(pki: TestPki, port: int, cc: str, role: str, name: str):
    channel = open_aio_channel(f"127.0.0.1:{port}", pki.tls(pki.leaf(cc, role, name)))
    return channel, catalog_service_pb2_grpc.CatalogServiceStub(channel)


def existence_only(dataset_id: str) -> catalog_service_pb2.Dataset:
    """Worked out by hand: id, node and country, every other field unset."""
    return catalog_service_pb2.Dataset(
        id=dataset_id, node_id=NODE_ID, country="NO", existence_only=True
    )


def assert_full(entry: catalog_service_pb2.Dataset, dataset_id: str) -> None:
    assert entry.id == dataset_id
    assert entry.title == f"{dataset_id} cohort"
    assert entry.description == "a Norwegian cohort"
    assert entry.variant_count == 1
    assert list(entry.populations) == ["NO"]
    assert entry.source_sha256
    assert not entry.existence_only


async def test_a_refused_caller_sees_what_catalog_visibility_says(node, pki):
    mode = node.lookup.catalog.visibility
    channel, stub = catalog_as(pki, node.port, "FI", "node", "fi-helsinki-1")
    async with channel:
        listed = await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=5)
        by_id = {d.id: d for d in listed.datasets}
        assert_full(by_id["open"], "open")
        if mode == "existence":
            assert by_id["restricted"] == existence_only("restricted")
            got = await stub.GetDataset(
                catalog_service_pb2.GetDatasetRequest(dataset_id="restricted"), timeout=5
            )
            assert got == existence_only("restricted")
        elif mode == "hidden":
            assert set(by_id) == {"open"}
            with pytest.raises(grpc.aio.AioRpcError) as hidden:
                await stub.GetDataset(
                    catalog_service_pb2.GetDatasetRequest(dataset_id="restricted"), timeout=5
                )
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await stub.GetDataset(
                    catalog_service_pb2.GetDatasetRequest(dataset_id="restrictex"), timeout=5
                )
            assert hidden.value.code() == unknown.value.code() == grpc.StatusCode.NOT_FOUND
            # The same answer as for an id the node does not serve, but for the id itself.
            assert hidden.value.details() == unknown.value.details().replace(
                "restrictex", "restricted"
            )
        else:
            assert_full(by_id["restricted"], "restricted")


async def test_an_admitted_caller_sees_everything_whatever_the_setting(node, pki):
    channel, stub = catalog_as(pki, node.port, "NO", "operator", "no-ops")
    async with channel:
        listed = await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=5)
        got = await stub.GetDataset(
            catalog_service_pb2.GetDatasetRequest(dataset_id="restricted"), timeout=5
        )
    assert sorted(d.id for d in listed.datasets) == ["open", "restricted"]
    for entry in [*listed.datasets, got]:
        assert_full(entry, entry.id)


def _without_fdp(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "fdp_problems"}


@dataclass(frozen=True)
class Plain:
    http_listen: str = "127.0.0.1:0"
    tls: TlsConfig | None = None


async def test_the_gateway_passes_on_only_what_the_node_shows_it(indexes, pki):
    """The DE gateway is refused "restricted": its gRPC and HTTP answers, built from its
    cached catalogue and from GetDataset asked of the node, show no more than existence."""
    config = NodeConfig(
        id=NODE_ID, country="NO", listen="127.0.0.1:0", reload_interval_s=0,
        tls=pki.tls(pki.leaf("NO", "node", NODE_ID)),
        datasets=(DatasetConfig("open", indexes["open"]),
                  DatasetConfig("restricted", indexes["restricted"], allow=(NO_OPERATORS,))),
    )  # fmt: skip
    node = await start_node(config)
    peer = PeerConfig(
        id=NODE_ID, country="NO", addresses=(f"127.0.0.1:{node.port}",),
        identity=f"spiffe://allelemesh.example/country/NO/node/{NODE_ID}",
    )  # fmt: skip
    gateway = await start_gateway(
        GatewayConfig(
            id="eu-gw-1", listen="127.0.0.1:0", peers=(peer,),
            tls=pki.tls(pki.leaf("DE", "gateway", "eu-gw-1")),
        ),
        settings=fast_settings(),
    )  # fmt: skip
    http = await start_http(gateway.backend, Plain())
    try:
        channel, stub = catalog_as(pki, gateway.port, "DE", "operator", "portal-backend")
        async with channel:
            listed = await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=5)
            got = await stub.GetDataset(
                catalog_service_pb2.GetDatasetRequest(dataset_id="restricted"), timeout=5
            )
        async with httpx.AsyncClient(base_url=http.url, timeout=10) as client:
            v1_list = (await client.get("/v1/datasets")).json()
            v1_one = (await client.get("/v1/datasets/restricted")).json()
            beacon_list = (await client.get("/api/datasets")).json()
            beacon_one = (await client.get("/api/datasets/restricted")).json()
    finally:
        await http.stop()
        await gateway.stop(0)
        await node.stop(0)
    by_id = {d.id: d for d in listed.datasets}
    assert by_id["restricted"] == existence_only("restricted")
    assert_full(by_id["open"], "open")
    assert got == existence_only("restricted")
    withheld = {"id": "restricted", "node_id": NODE_ID, "country": "NO", "existence_only": True}
    v1_by_id = {d["id"]: d for d in v1_list["datasets"]}
    # No zeros, no empty strings: absent. (fdp_problems says why the FAIR Data Point
    # does not publish it; it is about the entry, not data of the dataset.)
    assert _without_fdp(v1_by_id["restricted"]) == withheld
    assert v1_by_id["open"]["title"] == "open cohort"
    assert _without_fdp(v1_one.get("dataset", v1_one)) == withheld
    beacon_by_id = {d["id"]: d for d in beacon_list["response"]["collections"]}
    assert beacon_by_id["restricted"] == {
        "id": "restricted", "name": "restricted", "nodeId": NODE_ID, "country": "NO",
        "existenceOnly": True,
    }  # fmt: skip
    assert beacon_by_id["open"]["sampleCount"] == 602
    assert beacon_one["response"]["collections"] == [beacon_by_id["restricted"]]


def test_catalog_visibility_is_validated(tmp_path):
    config = tmp_path / "node.toml"
    base = '[node]\nid = "n1"\ncountry = "NO"\nlisten = "127.0.0.1:0"\n'
    config.write_text(base)
    assert load_node_config(config).catalog_visibility == "existence"
    config.write_text(base + 'catalog_visibility = "hidden"\n')
    assert load_node_config(config).catalog_visibility == "hidden"
    config.write_text(base + 'catalog_visibility = "secret"\n')
    with pytest.raises(ConfigError, match=r"\[node\]\.catalog_visibility"):
        load_node_config(config)
