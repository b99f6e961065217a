"""A gene through every door of a real gateway: JSON API, Beacon geneId, the CLI.

One real mesh (three nodes, four GRCh38 datasets and one GRCh37) behind a gateway with
its HTTP API on and a GRCh37 GTF in ``[genes]``. Expected variants and counts come
from the records tests.gene_world writes; gRPC is tests/gateway/test_gene_search.py,
the pages tests/pages/test_gene_view.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.server import RunningGateway, start_gateway
from mesh.config import GatewayConfig
from mesh.model.genome import Assembly
from tests.gene_world import GRCH37_SPAN, GeneWorld, make_gene_world
from tests.mesh_harness import REPO, fast_settings, peer_of, running_nodes

Key = tuple[str, int, str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> GeneWorld:
    return make_gene_world(tmp_path_factory.mktemp("gene-doors"))


@contextlib.asynccontextmanager
async def gateway_over(world: GeneWorld) -> AsyncIterator[RunningGateway]:
    async with running_nodes(world.specs) as nodes:
        peers = [peer_of(s.id, s.country, nodes[s.id].port) for s in world.specs]
        assert world.grch37_gtf is not None
        config = GatewayConfig(
            id="gw-genes",
            listen="127.0.0.1:0",
            peers=tuple(peers),
            http_listen="127.0.0.1:0",
            genes={Assembly.GRCH37: world.grch37_gtf},
        )
        gateway = await start_gateway(config, insecure=True, settings=fast_settings())
        try:
            yield gateway
        finally:
            await gateway.stop(0)


def _key(v: dict[str, Any]) -> Key:
    # int(): the CLI's JSON is protobuf's, where an int64 is a string.
    return (v["chromosome"], int(v["position"]), v["reference_bases"], v["alternate_bases"])


def _counts(c: dict[str, Any]) -> tuple[Any, ...]:
    names = ("allele_count", "allele_number", "homozygous_count", "heterozygous_count")
    return (*(c[n] for n in names), c["hemizygous_count"])


async def test_json_api_pages_through_the_gene_with_pooled_and_country_rows(world):
    async with gateway_over(world) as gateway, httpx.AsyncClient(base_url=gateway.http.url) as web:
        results, token, pages = [], "", 0
        while True:
            answer = await web.get("/v1/genes/pcsk9", params={"page_size": 7, "page_token": token})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            results.extend(body["results"])
            pages += 1
            token = body["next_page_token"]
            if not token:
                break
        assert pages > 5
        assert body["gene"]["symbol"] == "PCSK9"
        assert body["gene"]["match"] == "symbol"
        region = body["gene"]["region"]
        assert (region["chromosome"], region["start"], region["end"]) == world.span
        assert [_key(r["variant"]) for r in results] == world.in_span()
        for r in results:
            key = _key(r["variant"])
            rows = {(f["node_id"], f["dataset_id"]): _counts(f["counts"]) for f in r["frequencies"]}
            assert rows == world.rows[key]
            assert _counts(r["pooled"]) == world.pooled(key)
            countries = {c["country"]: _counts(c["counts"]) for c in r["pooled_countries"]}
            assert countries == world.per_country(key)
        # An alias, shown resolved; GRCh37 from the operator's GTF.
        alias = (await web.get("/v1/genes/NARC1", params={"page_size": 1})).json()["gene"]
        assert alias["symbol"] == "PCSK9"
        assert alias["match"] == "previous symbol or alias"
        assert alias["resolution"].startswith("NARC1 is a previous symbol or alias of PCSK9")
        old = (await web.get("/v1/genes/PCSK9", params={"assembly": "GRCh37"})).json()
        got = (old["gene"]["region"]["start"], old["gene"]["region"]["end"])
        assert got == GRCH37_SPAN[1:]
        assert [_key(r["variant"]) for r in old["results"]] == world.in_span(
            world.grch37_rows, GRCH37_SPAN
        )


async def test_json_api_refuses_unknown_and_wrong_assembly_genes_with_400(world):
    async with gateway_over(world) as gateway, httpx.AsyncClient(base_url=gateway.http.url) as web:
        unknown = await web.get("/v1/genes/PCKS9")
        assert unknown.status_code == 400
        problem = unknown.json()
        assert problem["field"] == "symbol"
        assert "closest symbols: PCSK9" in problem["detail"]
        missing = await web.get("/v1/genes/BRCA1", params={"assembly": "GRCh37"})
        assert missing.status_code == 400
        detail = missing.json()["detail"]
        assert "BRCA1" in detail
        assert "GRCh37" in detail
        assert world.grch37_gtf.name in detail


def _beacon_rows(body: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(node, dataset) -> records, from the record-granularity result sets."""
    got: Counter[tuple[str, str]] = Counter()
    for result_set in body["response"]["resultSets"]:
        for result in result_set["results"]:
            got[(result["info"]["nodeId"], result_set["id"])] += 1
    return got


def _expected_rows(world: GeneWorld, alt: str | None = None) -> Counter[tuple[str, str]]:
    expected: Counter[tuple[str, str]] = Counter()
    for variant in world.in_span():
        if alt is None or variant[3] == alt:
            expected.update(world.rows[variant].keys())
    return expected


async def test_beacon_gene_id_is_a_range_query_over_the_gene(world):
    async with gateway_over(world) as gateway, httpx.AsyncClient(base_url=gateway.http.url) as web:
        params = {"geneId": "PCSK9", "requestedGranularity": "record", "limit": "1000"}
        body = (await web.get("/api/g_variants", params=params)).json()
        assert _beacon_rows(body) == _expected_rows(world)
        assert body["info"]["gene"]["symbol"] == "PCSK9"
        count = (
            await web.get(
                "/api/g_variants", params={"geneid": "pcsk9", "requestedGranularity": "count"}
            )
        ).json()
        assert count["responseSummary"]["numTotalResults"] == sum(_expected_rows(world).values())
        # The GDI portal's form: a flat requestParameters, POST under /api/v2.0.0.
        portal = {
            "meta": {"apiVersion": "2.0"},
            "query": {
                "requestParameters": {
                    "geneId": "narc1",
                    "assemblyId": "GRCh38",
                    "alternateBases": "A",
                },
                "requestedGranularity": "record",
                "pagination": {"skip": 0, "limit": 1000},
                "filters": [],
                "includeResultsetResponses": "HIT",
            },
        }
        posted = await web.post("/api/v2.0.0/g_variants", json=portal)
        assert posted.status_code == 200, posted.text
        assert _beacon_rows(posted.json()) == _expected_rows(world, alt="A")
        assert posted.json()["info"]["gene"]["matched_name"] == "NARC1"


async def test_beacon_gene_id_errors_name_the_parameter(world):
    async with gateway_over(world) as gateway, httpx.AsyncClient(base_url=gateway.http.url) as web:
        conflict = await web.get("/api/g_variants", params={"geneId": "PCSK9", "start": "5"})
        assert conflict.status_code == 400
        assert conflict.json()["field"] == "start"
        unknown = await web.get("/api/g_variants", params={"geneId": "PCKS9"})
        assert unknown.status_code == 400
        assert unknown.json()["field"] == "geneId"
        assert "closest symbols: PCSK9" in unknown.json()["detail"]
        posted = await web.post(
            "/api/g_variants",
            json={"query": {"requestParameters": {"geneId": "BRCA1", "assemblyId": "GRCh37"}}},
        )
        assert posted.status_code == 400
        assert posted.json()["field"] == "query.requestParameters.geneId"
        assert "GRCh37" in posted.json()["detail"]


async def _cli(*args: str) -> tuple[int, str, str]:
    # In a subprocess without blocking the loop: the gateway answers from this loop.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_query_cli_searches_a_gene_at_the_gateway(world):
    async with gateway_over(world) as gateway:
        target = f"127.0.0.1:{gateway.port}"
        code, out, err = await _cli("query", "PCSK9", "--target", target, "--insecure", "--json")
        assert code == 0, err
        answer = json.loads(out)
        assert answer["gene"]["symbol"] == "PCSK9"
        keys = [_key(v["variant"]) for v in answer["variants"]]
        assert keys == world.in_span()
        for item in answer["variants"]:
            pooled = item["pooled"]
            expected = world.pooled(_key(item["variant"]))
            assert (int(pooled["allele_count"]), int(pooled["allele_number"])) == expected[:2]
        code, out, err = await _cli("query", "narc1", "--target", target, "--insecure")
        assert code == 0, err
        assert "NARC1 is a previous symbol or alias of PCSK9" in out
        assert "AF NO" in out
        assert "AF FI" in out
        code, out, err = await _cli("query", "PCKS9", "--target", target, "--insecure")
        assert code != 0
        assert "closest symbols: PCSK9" in err
