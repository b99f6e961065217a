"""An assembly no dataset holds is said, never answered as "no such variant" with zero counts.

A real GRCh38-only mesh (two nodes, a gateway with its HTTP API); GRCh37 asked over gRPC,
Beacon, the JSON API, the CLI and a node directly.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2

from gateway.server import start_gateway
from mesh.config import GatewayConfig
from mesh.plumbing.rpc import STATUS_DETAILS_KEY
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.gateway.http import beacon_schemas as bs
from tests.mesh_harness import REPO, NodeSpec, fast_settings, peer_of, running_nodes, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord

MESSAGE = "no dataset in this mesh holds GRCh37 (assemblies here: GRCh38)"
VARIANT = allele_pb2.Variant(
    chromosome="1", position=55051215, reference_bases="G", alternate_bases="GA"
)


def records() -> list[SiteRecord]:
    return [SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[12], hom=[2]))]


@pytest.fixture
async def mesh(tmp_path: Path):
    specs = [
        NodeSpec("de-berlin-1", "DE", [write_dataset(tmp_path / "de", "de-a", records())]),
        NodeSpec("no-oslo-1", "NO", [write_dataset(tmp_path / "no", "no-a", records())]),
    ]
    async with running_nodes(specs) as nodes:
        peers = tuple(peer_of(s.id, s.country, nodes[s.id].port) for s in specs)
        config = GatewayConfig(
            id="gw", listen="127.0.0.1:0", peers=peers, http_listen="127.0.0.1:0"
        )
        gateway = await start_gateway(config, insecure=True, settings=fast_settings())
        try:
            yield nodes, gateway
        finally:
            await gateway.stop(0)


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    raw = dict(error.trailing_metadata() or ())[STATUS_DETAILS_KEY]
    status = status_pb2.Status.FromString(raw)
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo")


async def test_grpc_says_no_dataset_holds_the_assembly(mesh) -> None:
    _, gateway = mesh
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(
                    variant=VARIANT, assembly=allele_pb2.ASSEMBLY_GRCH37
                ),
                timeout=5,
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert caught.value.details() == MESSAGE
        info = error_info(caught.value)
        assert info.reason == "ASSEMBLY_NOT_HELD"
        assert dict(info.metadata) == {"assembly": "GRCh37", "assemblies": "GRCh38"}

        with pytest.raises(grpc.aio.AioRpcError) as region:
            await stub.SearchRegion(
                allele_service_pb2.SearchRegionRequest(
                    region=allele_pb2.Region(chromosome="1", start=1, end=60_000_000),
                    assembly=allele_pb2.ASSEMBLY_GRCH37,
                ),
                timeout=5,
            )
        assert region.value.details() == MESSAGE

        with pytest.raises(grpc.aio.AioRpcError) as named:
            await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(
                    variant=VARIANT, assembly=allele_pb2.ASSEMBLY_GRCH37, dataset_ids=["de-a"]
                ),
                timeout=5,
            )
        assert named.value.details() == (
            "no dataset named (de-a) holds GRCh37 (assemblies here: GRCh38)"
        )
        # The assembly the mesh holds still answers, with real counts.
        found = await stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=VARIANT), timeout=5
        )
        assert found.pooled.allele_count == 24


async def test_a_node_asked_directly_says_it_too(mesh) -> None:
    nodes, _ = mesh
    port = nodes["de-berlin-1"].port
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(
                    variant=VARIANT, assembly=allele_pb2.ASSEMBLY_GRCH37
                ),
                timeout=5,
            )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == (
        "no dataset on node de-berlin-1 holds GRCh37 (assemblies here: GRCh38)"
    )


async def test_beacon_warns_and_json_api_says_it(mesh) -> None:
    _, gateway = mesh
    async with httpx.AsyncClient(base_url=gateway.http.url, timeout=10) as client:
        beacon = await client.get(
            "/api/g_variants",
            params={
                "assemblyId": "GRCh37", "referenceName": "1", "start": "55051214",
                "referenceBases": "G", "alternateBases": "GA", "requestedGranularity": "count",
            },
        )  # fmt: skip
        assert beacon.status_code == 200
        body = beacon.json()
        assert body["responseSummary"]["exists"] is False
        assert MESSAGE in body["info"]["warnings"]
        bs.assert_g_variants_valid(body)  # still a valid Beacon v2 count response

        plain = await client.get("/v1/variants/1-55051215-G-GA", params={"assembly": "GRCh37"})
    assert plain.status_code == 404
    problem = plain.json()
    assert problem["detail"] == MESSAGE
    assert "pooled" not in problem


async def test_cli_says_it(mesh) -> None:
    _, gateway = mesh
    # Not subprocess.run: the gateway serves from this test's event loop.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh", "query", "1-55051215-G-GA", "--assembly", "GRCh37",
        "--target", f"127.0.0.1:{gateway.port}", "--insecure",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, stdout
    assert stderr.decode().strip().splitlines()[-1] == (
        f"allelemesh: error: 127.0.0.1:{gateway.port} answered NOT_FOUND: {MESSAGE}"
    )
    assert stdout == b""
