"""The plain JSON API (``/v1``) against a real node."""

from __future__ import annotations

import httpx
import pytest

from tests.count_helpers import pool_tuples
from tests.gateway.http.harness import COUNTRY, EXPECTED, NODE_ID, POS, RANGE_START


def counts_tuple(counts: dict) -> tuple[int | None, ...]:
    for key in ("allele_count", "allele_number", "homozygous_count", "heterozygous_count"):
        assert counts[key] is None or type(counts[key]) is int, f"{key}: a JSON number or null"
    return (
        counts["allele_count"],
        counts["allele_number"],
        counts["homozygous_count"],
        counts["heterozygous_count"],
        counts["hemizygous_count"],
    )


@pytest.mark.parametrize(
    "notation",
    [
        f"1-{POS}-G-A",
        f"chr1:{POS}:G:A",
        f"1:{POS} G>A",
        f"NC_000001.11:{POS - 1}:G:A",  # SPDI is 0-based
        f"NC_000001.11:g.{POS}G>A",
    ],
)
async def test_variant_in_every_notation(client: httpx.AsyncClient, notation: str):
    response = await client.get(f"/v1/variants/{notation}", params={"assembly": "GRCh38"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["variant"] == {
        "chromosome": "1",
        "position": POS,
        "reference_bases": "G",
        "alternate_bases": "A",
    }
    by_dataset = {f["dataset_id"]: f for f in body["frequencies"]}
    assert set(by_dataset) == {"no-gdi", "no-gnomad"}
    for dataset_id, frequency in by_dataset.items():
        expected = EXPECTED[dataset_id][("1", POS, "G", "A")]
        assert counts_tuple(frequency["counts"]) == expected[""]
        assert frequency["counts"]["precision"] == "COUNT_PRECISION_EXACT"
        assert frequency["node_id"] == NODE_ID
        assert frequency["country"] == COUNTRY
        rows = {p["population"]: counts_tuple(p["counts"]) for p in frequency["populations"]}
        assert rows == {k: v for k, v in expected.items() if k}
    pooled = counts_tuple(body["pooled"])
    totals = [EXPECTED[d][("1", POS, "G", "A")][""] for d in ("no-gdi", "no-gnomad")]
    assert pooled == pool_tuples(totals)
    assert body["pooled"]["allele_frequency"] == pytest.approx(pooled[0] / pooled[1])
    (outcome,) = body["outcomes"]
    assert outcome["status"] == {"code": 0, "code_name": "OK", "message": ""}
    assert outcome["frequency_count"] == 2


async def test_variant_filtered_by_dataset_and_population(client: httpx.AsyncClient):
    params = {"dataset": "no-gnomad", "population": ["AFR", "M"]}
    body = (await client.get(f"/v1/variants/1-{POS}-G-GA", params=params)).json()
    (frequency,) = body["frequencies"]
    assert frequency["dataset_id"] == "no-gnomad"
    assert sorted(p["population"] for p in frequency["populations"]) == ["AFR", "M"]


async def test_absent_variant_is_an_empty_answer(client: httpx.AsyncClient):
    body = (await client.get(f"/v1/variants/1-{POS}-G-T")).json()
    assert body["frequencies"] == []
    assert body["pooled"]["allele_number"] == 0


async def test_batch_keeps_request_order(client: httpx.AsyncClient):
    variants = [f"1-{POS}-G-GA", "2-1000-T-C", f"1-{POS}-G-T", f"chr1:{POS}:G:A"]
    response = await client.post(
        "/v1/variants:batch", json={"assembly": "GRCh38", "variants": variants}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["query"] for r in results] == variants
    assert [len(r["frequencies"]) for r in results] == [1, 1, 0, 2]
    assert counts_tuple(results[1]["pooled"]) == EXPECTED["no-gnomad"][("2", 1000, "T", "C")][""]


async def test_region_pages_follow_tokens(client: httpx.AsyncClient):
    region = f"1:{RANGE_START}-{RANGE_START + 200}"
    seen = []
    token = ""
    pages = 0
    while True:
        params = {"page_size": 5, **({"page_token": token} if token else {})}
        response = await client.get(f"/v1/regions/{region}", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["frequencies"]) <= 5
        seen.extend((f["variant"]["position"], f["dataset_id"]) for f in body["frequencies"])
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    expected = sorted(
        (key[1], dataset)
        for dataset, table in EXPECTED.items()
        for key in table
        if key[0] == "1" and RANGE_START <= key[1] <= RANGE_START + 200
    )
    assert sorted(seen) == expected
    assert pages == -(-len(expected) // 5)


async def test_region_start_is_one_based_inclusive(client: httpx.AsyncClient):
    inside = (await client.get(f"/v1/regions/1:{POS}-{POS}")).json()
    assert {f["variant"]["position"] for f in inside["frequencies"]} == {POS}
    after = (await client.get(f"/v1/regions/1:{POS + 1}-{POS + 2}")).json()
    assert after["frequencies"] == []


async def test_datasets(client: httpx.AsyncClient):
    body = (await client.get("/v1/datasets", params={"assembly": "GRCh38"})).json()
    assert sorted(d["id"] for d in body["datasets"]) == ["no-gdi", "no-gnomad"]
    other = (await client.get("/v1/datasets", params={"country": "FI"})).json()
    assert other["datasets"] == []
    one = (await client.get("/v1/datasets/no-gdi")).json()
    assert one["id"] == "no-gdi"
    assert one["assembly"] == "GRCh38"
    assert one["country"] == COUNTRY
    assert type(one["variant_count"]) is int
    assert one["variant_count"] == len(EXPECTED["no-gdi"])
