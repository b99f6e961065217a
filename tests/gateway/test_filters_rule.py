"""FILTER values: one rule for every HTTP answer, the same meaning as gRPC's.

``mesh.v1`` sends no value for a PASS record (the contract: empty means PASS); the JSON
API and Beacon both spell it ``["PASS"]``, and both give a filtered record's values.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx

from gateway.server import start_gateway
from mesh.config import GatewayConfig
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.mesh_harness import NodeSpec, fast_settings, peer_of, running_nodes, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord


async def test_grpc_json_and_beacon_agree_on_filters(tmp_path: Path) -> None:
    records = [
        SiteRecord("1", 1000, "A", ["G"], GroupCounts(an=100, ac=[5], hom=[0])),
        SiteRecord("1", 2000, "C", ["T"], GroupCounts(an=100, ac=[7], hom=[1]), filters=["RF"]),
    ]
    index = write_dataset(tmp_path / "d", "de-a", records)
    async with running_nodes([NodeSpec("de-berlin-1", "DE", [index])]) as nodes:
        config = GatewayConfig(
            id="gw", listen="127.0.0.1:0", http_listen="127.0.0.1:0",
            peers=(peer_of("de-berlin-1", "DE", nodes["de-berlin-1"].port),),
        )  # fmt: skip
        gateway = await start_gateway(config, insecure=True, settings=fast_settings())
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
                stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
                found = await stub.SearchRegion(
                    allele_service_pb2.SearchRegionRequest(
                        region=allele_pb2.Region(chromosome="1", start=1, end=3000)
                    ),
                    timeout=5,
                )
            wire = {f.variant.position: list(f.filters) for f in found.frequencies}
            assert gateway.http is not None
            async with httpx.AsyncClient(base_url=gateway.http.url, timeout=10) as client:
                plain = {
                    pos: (await client.get(f"/v1/variants/1-{pos}-{ref}-{alt}")).json()
                    for pos, ref, alt in ((1000, "A", "G"), (2000, "C", "T"))
                }
                beacon = (
                    await client.get(
                        "/api/g_variants",
                        params={"referenceName": "1", "start": "0", "end": "3000",
                                "requestedGranularity": "record"},
                    )
                ).json()  # fmt: skip
        finally:
            await gateway.stop(0)
    assert wire == {1000: [], 2000: ["RF"]}  # the contract: empty means PASS
    assert [f["filters"] for f in plain[1000]["frequencies"]] == [["PASS"]]
    assert [f["filters"] for f in plain[2000]["frequencies"]] == [["RF"]]
    records_out = [r for s in beacon["response"]["resultSets"] for r in s["results"]]
    by_position = {}
    for record in records_out:
        position = record["variation"]["location"]["interval"]["start"]["value"] + 1
        by_position[position] = record["info"]["filters"]
    assert by_position == {1000: ["PASS"], 2000: ["RF"]}
