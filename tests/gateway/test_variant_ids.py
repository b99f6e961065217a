"""rsIDs over gRPC: ``LookupVariantId`` on a node and through a gateway over three nodes.

The datasets (``tests.variant_id_world``) are VCFs the test writes, with rsIDs in their ID
columns; which variants an id names and every count are computed from those records.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc
import httpx
import pytest

from gateway.http.app import create_app
from gateway.http.backend import GrpcBackend
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.count_helpers import FIELDS, as_tuple, pool_tuples
from tests.gateway.http import beacon_schemas as bs
from tests.mesh_harness import free_port, peer_of, running_mesh, running_nodes
from tests.variant_id_world import build_world, expected_rows, expected_variants

RSIDS = ("rs100", "rs200", "rs300", "rs301", "rs400")


def _variant(v: allele_pb2.Variant) -> tuple[str, int, str, str]:
    return (v.chromosome, v.position, v.reference_bases, v.alternate_bases)


def _pooled(rows: dict[str, tuple[int | None, ...]]) -> tuple[int | None, ...]:
    return pool_tuples(rows.values())


def counts_tuple(counts: dict[str, int | None]) -> tuple[int | None, ...]:
    return tuple(counts[f] for f in FIELDS)


async def test_rsids_through_the_gateway(tmp_path: Path) -> None:
    specs, records = build_world(tmp_path)
    async with running_mesh(specs) as mesh:
        for rsid in RSIDS:
            for asked in (rsid, rsid.upper()):
                response = await mesh.allele.LookupVariantId(
                    allele_service_pb2.LookupVariantIdRequest(variant_id=asked), timeout=10
                )
                assert response.variant_id == rsid
                wanted = expected_variants(records, rsid)
                assert [_variant(r.variant) for r in response.results] == wanted, rsid
                for result in response.results:
                    rows = expected_rows(records, _variant(result.variant))
                    got = {f.dataset_id: as_tuple(f.counts) for f in result.frequencies}
                    # Every dataset holding the variant answers, also those without the id.
                    assert got == rows, (rsid, result.variant)
                    assert as_tuple(result.pooled) == _pooled(rows)
                lu = next(o for o in response.outcomes if o.node_id == "lu-1")
                assert lu.status.code == 0
                (old,) = lu.datasets
                assert old.dataset_id == "lu-old"
                assert old.status.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
                assert "rebuild" in old.status.message
        # rs100 on two variants' worth of datasets: NO recorded it, FI holds it without.
        one = await mesh.allele.LookupVariantId(
            allele_service_pb2.LookupVariantIdRequest(variant_id="rs100"), timeout=10
        )
        assert {f.dataset_id for f in one.results[0].frequencies} == {"no-ids", "fi-ids", "lu-old"}
        unknown = await mesh.allele.LookupVariantId(
            allele_service_pb2.LookupVariantIdRequest(variant_id="rs999999"), timeout=10
        )
        assert list(unknown.results) == []
        assert {o.node_id for o in unknown.outcomes} == {"no-1", "fi-1", "lu-1"}
        # rs800 is only in the old index: "rebuild", never just "not found".
        old_only = await mesh.allele.LookupVariantId(
            allele_service_pb2.LookupVariantIdRequest(variant_id="rs800"), timeout=10
        )
        assert list(old_only.results) == []
        lu = next(o for o in old_only.outcomes if o.node_id == "lu-1")
        assert "rebuild" in lu.datasets[0].status.message
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await mesh.allele.LookupVariantId(
                allele_service_pb2.LookupVariantIdRequest(variant_id="rs12x"), timeout=10
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "rs12x" in (bad.value.details() or "")


async def test_a_node_answers_an_rsid_over_its_own_datasets(tmp_path: Path) -> None:
    specs, records = build_world(tmp_path)
    no = next(s for s in specs if s.country == "NO")
    lu = next(s for s in specs if s.country == "LU")
    async with running_nodes([no, lu]) as nodes:
        for spec in (no, lu):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{nodes[spec.id].port}") as channel:
                stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
                response = await stub.LookupVariantId(
                    allele_service_pb2.LookupVariantIdRequest(variant_id="rs200"), timeout=10
                )
                if spec is no:
                    wanted = expected_variants({"no-ids": records["no-ids"]}, "rs200")
                    assert [_variant(r.variant) for r in response.results] == wanted
                    assert len(wanted) == 2  # one record, two ALTs
                    for result in response.results:
                        (row,) = result.frequencies
                        only_no = {"no-ids": records["no-ids"]}
                        want = expected_rows(only_no, _variant(result.variant))
                        assert as_tuple(row.counts) == want["no-ids"]
                    assert list(response.outcomes[0].datasets) == []
                else:
                    assert list(response.results) == []
                    (outcome,) = response.outcomes
                    assert "rebuild" in outcome.datasets[0].status.message
                    assert outcome.datasets[0].dataset_id == "lu-old"
                variants_only = await stub.LookupVariantId(
                    allele_service_pb2.LookupVariantIdRequest(
                        variant_id="rs200", variants_only=True
                    ),
                    timeout=10,
                )
                assert all(not r.frequencies for r in variants_only.results)
                assert len(variants_only.results) == (2 if spec is no else 0)


async def test_rsids_in_the_json_api(tmp_path: Path) -> None:
    specs, records = build_world(tmp_path)
    async with running_mesh(specs) as mesh:
        backend = GrpcBackend(f"127.0.0.1:{mesh.client.gateway.port}")
        try:
            transport = httpx.ASGITransport(app=create_app(backend))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                several = (await http.get("/v1/rsids/RS400")).json()
                unknown = await http.get("/v1/rsids/rs999999")
                bad = await http.get("/v1/rsids/rs4x")
        finally:
            await backend.close()
    assert several["variant_id"] == "rs400"
    wanted = expected_variants(records, "rs400")
    assert len(wanted) == 2  # two records
    got = [r["variant"] for r in several["results"]]
    assert [(v["chromosome"], v["position"], v["reference_bases"], v["alternate_bases"])
            for v in got] == wanted  # fmt: skip
    for result in several["results"]:
        v = result["variant"]
        rows = expected_rows(records, (v["chromosome"], v["position"], v["reference_bases"],
                                       v["alternate_bases"]))  # fmt: skip
        assert {f["dataset_id"]: counts_tuple(f["counts"]) for f in result["frequencies"]} == rows
        assert counts_tuple(result["pooled"]) == _pooled(rows)
        assert result["pooled"]["lower_bound"] is False
    lu = next(o for o in several["outcomes"] if o["node_id"] == "lu-1")
    assert "rebuild" in lu["datasets"][0]["status"]["message"]
    assert unknown.status_code == 200
    assert unknown.json()["results"] == []
    assert bad.status_code == 400
    assert bad.json()["field"] == "rsid"


async def test_rsids_in_the_beacon(tmp_path: Path) -> None:
    """``genomicAlleleShortForm=rs400``: records of every variant, each labelled."""
    specs, records = build_world(tmp_path)
    async with running_mesh(specs) as mesh:
        backend = GrpcBackend(f"127.0.0.1:{mesh.client.gateway.port}")
        try:
            transport = httpx.ASGITransport(app=create_app(backend))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                answer = await http.get(
                    "/api/g_variants",
                    params={"genomicAlleleShortForm": "rs400", "requestedGranularity": "record"},
                )
                counted = await http.get(
                    "/api/g_variants",
                    params={"genomicAlleleShortForm": "rs999", "requestedGranularity": "count"},
                )
        finally:
            await backend.close()
    assert answer.status_code == 200, answer.text
    document = answer.json()
    bs.assert_g_variants_valid(document)
    got = {
        (s["id"], r["variantInternalId"])
        for s in document["response"]["resultSets"]
        for r in s["results"]
    }
    wanted = {
        (dataset_id, "GRCh38:" + "-".join(str(x) for x in variant))
        for variant in expected_variants(records, "rs400")
        for dataset_id in expected_rows(records, variant)
    }
    assert got == wanted
    assert len({v for _d, v in wanted}) == 2  # two variants, each record names its own
    for result_set in document["response"]["resultSets"]:
        for found in result_set["results"]:  # each names the id it was found by, as a CURIE
            (alternative,) = found["identifiers"]["variantAlternativeIds"]
            assert alternative["id"] == "dbSNP:rs400"
    assert document["responseSummary"]["numTotalResults"] == len(wanted)
    assert counted.status_code == 200
    assert counted.json()["responseSummary"] == {"exists": False, "numTotalResults": 0}


async def test_a_node_with_peers_answers_an_rsid_over_the_mesh(tmp_path: Path) -> None:
    """SCOPE_MESH at a node: its own datasets and its peers', no loop (full mesh)."""
    specs, records = build_world(tmp_path)
    ports = {s.id: free_port() for s in specs}
    meshed = [
        dataclasses.replace(
            s,
            listen=f"127.0.0.1:{ports[s.id]}",
            peers=[peer_of(o.id, o.country, ports[o.id]) for o in specs if o is not s],
        )
        for s in specs
    ]
    async with running_nodes(meshed) as nodes:
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{nodes['fi-1'].port}")
        try:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            response = await stub.LookupVariantId(
                allele_service_pb2.LookupVariantIdRequest(
                    variant_id="rs300", scope=allele_pb2.SCOPE_MESH
                ),
                timeout=10,
            )
        finally:
            await channel.close()
    # rs300 is recorded by NO only: FI (asked) finds it through its peer.
    wanted = expected_variants(records, "rs300")
    assert [_variant(r.variant) for r in response.results] == wanted
    (result,) = response.results
    rows = expected_rows(records, wanted[0])
    assert {f.dataset_id: as_tuple(f.counts) for f in result.frequencies} == rows
    assert set(rows) == {"no-ids", "fi-ids"}  # FI holds it without the id
    assert sorted(o.node_id for o in response.outcomes) == ["fi-1", "lu-1", "no-1"]
