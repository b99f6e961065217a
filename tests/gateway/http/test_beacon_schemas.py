"""Every Beacon response validates against the official Beacon v2 schemas."""

from __future__ import annotations

import copy

import httpx
import pytest
from referencing.exceptions import Unresolvable

from tests.gateway.http import beacon_schemas as bs
from tests.gateway.http.harness import POS, RANGE_START

HIT = {"referenceName": "1", "start": str(POS - 1), "referenceBases": "G", "alternateBases": "A"}
MISS = {"referenceName": "1", "start": str(POS - 1), "referenceBases": "G", "alternateBases": "C"}


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
@pytest.mark.parametrize(("params", "exists"), [(HIT, True), (MISS, False)], ids=["hit", "miss"])
async def test_g_variants_get_validates(client: httpx.AsyncClient, params, exists, granularity):
    response = await client.get(
        "/api/g_variants", params={**params, "requestedGranularity": granularity}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    bs.assert_g_variants_valid(body)
    assert body["meta"]["returnedGranularity"] == granularity
    assert body["responseSummary"]["exists"] is exists
    if granularity == "count":
        assert body["responseSummary"]["numTotalResults"] == (2 if exists else 0)


@pytest.mark.parametrize("include", ["HIT", "MISS", "ALL", "NONE"])
@pytest.mark.parametrize(("params", "exists"), [(HIT, True), (MISS, False)], ids=["hit", "miss"])
async def test_g_variants_post_result_sets_validate(
    client: httpx.AsyncClient, params, exists, include
):
    body = {
        "meta": {"apiVersion": "v2.0.0"},
        "query": {
            "requestParameters": params,
            "requestedGranularity": "record",
            "includeResultsetResponses": include,
        },
    }
    response = await client.post("/api/g_variants", json=body)
    assert response.status_code == 200, response.text
    document = response.json()
    bs.assert_g_variants_valid(document)
    sets = document["response"]["resultSets"]
    ids = sorted(s["id"] for s in sets)
    expected = {
        ("HIT", True): ["no-gdi", "no-gnomad"],
        ("MISS", True): [],
        ("ALL", True): ["no-gdi", "no-gnomad"],
        ("HIT", False): [],
        ("MISS", False): ["no-gdi", "no-gnomad"],
        ("ALL", False): ["no-gdi", "no-gnomad"],
    }.get((include, exists), [])
    assert ids == expected
    assert all(s["exists"] is exists for s in sets)


async def test_range_query_validates(client: httpx.AsyncClient):
    params = {
        "referenceName": "chr1",
        "start": str(RANGE_START - 1),
        "end": str(RANGE_START + 100),
        "requestedGranularity": "record",
        "limit": "5",
    }
    response = await client.get("/api/g_variants", params=params)
    assert response.status_code == 200, response.text
    bs.assert_g_variants_valid(response.json())


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("/api", bs.INFO),
        ("/api/info", bs.INFO),
        ("/api/service-info", bs.SERVICE_INFO),
        ("/api/map", bs.MAP),
        ("/api/configuration", bs.CONFIGURATION),
        ("/api/entry_types", bs.ENTRY_TYPES),
        ("/api/filtering_terms", bs.FILTERING_TERMS),
        ("/api/datasets", bs.COLLECTIONS),
        ("/api/datasets/no-gdi", bs.COLLECTIONS),
    ],
)
async def test_informational_endpoints_validate(client: httpx.AsyncClient, path, schema):
    response = await client.get(path)
    assert response.status_code == 200, response.text
    document = response.json()
    bs.assert_valid(schema, document)
    for collection in document.get("response", {}).get("collections", []):
        bs.assert_valid(bs.DATASET, collection)


async def test_datasets_lists_both(client: httpx.AsyncClient):
    document = (await client.get("/api/datasets")).json()
    assert document["responseSummary"]["numTotalResults"] == 2
    ids = sorted(c["id"] for c in document["response"]["collections"])
    assert ids == ["no-gdi", "no-gnomad"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("get", "/api/g_variants", {"params": {"referenceName": "1"}}),
        ("get", "/api/g_variants", {"params": {**HIT, "assemblyId": "hg99"}}),
        ("post", "/api/g_variants", {"json": {"query": {"requestParameters": "x"}}}),
        ("get", "/api/datasets/nope", {}),
    ],
)
async def test_beacon_errors_are_beacon_error_responses(client, method, path, kwargs):
    response = await getattr(client, method)(path, **kwargs)
    assert response.status_code in (400, 404)
    assert response.headers["content-type"].startswith("application/problem+json")
    document = response.json()
    bs.assert_valid(bs.ERROR, document)
    assert document["error"]["errorCode"] == response.status_code


async def test_validator_rejects_a_wrong_record(client: httpx.AsyncClient):
    """Guard: the validators check something (a string frequency fails)."""
    params = {**HIT, "requestedGranularity": "record"}
    document = (await client.get("/api/g_variants", params=params)).json()
    record = document["response"]["resultSets"][0]["results"][0]
    bad = copy.deepcopy(record)
    bad["frequencyInPopulations"][0]["frequencies"][0]["alleleFrequency"] = "0.6"
    assert bs.errors(bs.G_VARIANT, bad)
    broken = copy.deepcopy(record)
    broken["variation"]["location"]["interval"]["start"] = {"type": "Number", "value": "1"}
    assert bs.errors(bs.G_VARIANT, broken)


def test_unresolvable_reference_fails():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(
        {"$ref": bs.UPSTREAM + "framework/json/no-such-file.json"}, registry=bs.registry()
    )
    with pytest.raises(Unresolvable):
        validator.validate({})
