"""Errors are RFC 7807 problems that name the problem; bad input is never a 500."""

from __future__ import annotations

import httpx
import pytest

from gateway.http.backend import GrpcBackend
from gateway.http.settings import HttpSettings
from tests.gateway.http.conftest import asgi_client
from tests.gateway.http.fakes import FakeBackend, failed_outcome, unavailable
from tests.gateway.http.harness import POS
from tests.mesh_harness import dead_address


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/variants/1-123-A", {}, "variant"),
        ("/v1/variants/1-123-A-X", {}, "variant"),
        ("/v1/variants/1-999999999-A-T", {}, "variant"),
        ("/v1/variants/chr99-123-A-T", {}, "variant"),
        ("/v1/variants/1-123-A-T", {"assembly": "hg99"}, "assembly"),
        ("/v1/regions/1:200-100", {}, "region"),
        ("/v1/regions/banana", {}, "region"),
        ("/v1/regions/1:1-100", {"page_size": "-1"}, "page_size"),
        ("/v1/regions/1:1-100", {"page_size": "many"}, "page_size"),
        ("/v1/regions/1:1-100", {"page_token": "forged"}, "page_token"),
        ("/v1/datasets", {"country": "Norway"}, "country"),
        ("/api/g_variants", {"start": "5"}, "referenceName"),
        ("/api/g_variants", {"referenceName": "1"}, "start"),
        ("/api/g_variants", {"referenceName": "1", "start": "x"}, "start"),
        ("/api/g_variants", {"referenceName": "1", "start": "5", "end": "5"}, "end"),
        ("/api/g_variants", {"referenceName": "1", "start": "5", "referenceBases": "A"}, None),
        (
            "/api/g_variants",
            {"referenceName": "1", "start": "5", "referenceBases": "A", "alternateBases": "<DEL>"},
            "alternateBases",
        ),
        (
            "/api/g_variants",
            {"referenceName": "chrQ", "start": "5", "referenceBases": "A", "alternateBases": "T"},
            "referenceName",
        ),
        (
            "/api/g_variants",
            {"referenceName": "1", "start": "5", "end": "9", "assemblyId": "NCBI36"},
            "assemblyId",
        ),
        (
            "/api/g_variants",
            {"referenceName": "1", "start": "1", "end": "9", "requestedGranularity": "all"},
            "requestedGranularity",
        ),
        ("/api/g_variants", {"aminoacidChange": "V600E"}, "aminoacidChange"),
        ("/api/g_variants", {"geneId": "PCKS9"}, "geneId"),  # unknown: closest named
        ("/v1/genes/PCKS9", {}, "symbol"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field(client: httpx.AsyncClient, path, params, field):
    body = assert_problem(await client.get(path, params=params), 400, field)
    assert body["reason"]


async def test_bad_variant_detail_says_what_is_wrong(client: httpx.AsyncClient):
    body = assert_problem(await client.get("/v1/variants/1-123-A-X"), 400, "variant")
    assert "X" in body["detail"]


async def test_unknown_dataset_is_404(client: httpx.AsyncClient):
    assert_problem(await client.get("/v1/datasets/nope"), 404)
    assert_problem(await client.get(f"/v1/variants/1-{POS}-G-A", params={"dataset": "nope"}), 404)


async def test_batch_limits(client: httpx.AsyncClient):
    too_many = {"variants": ["1-100-A-T"] * 10_001}
    body = assert_problem(await client.post("/v1/variants:batch", json=too_many), 400, "variants")
    assert body["reason"] == "BATCH_TOO_LARGE"
    bad = {"variants": ["1-100-A-T", "1-100-A-Z"]}
    assert_problem(await client.post("/v1/variants:batch", json=bad), 400, "variants[1]")
    assert_problem(await client.post("/v1/variants:batch", json={}), 400, "variants")
    assert_problem(await client.post("/v1/variants:batch", json={"variants": []}), 400, "variants")
    garbage = await client.post(
        "/v1/variants:batch", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(garbage, 400)


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient):
    big = b'{"variants": ["' + b"A" * (2 * 1024 * 1024) + b'"]}'
    response = await client.post(
        "/v1/variants:batch", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)

    async def chunks():
        for _ in range(40):
            yield b" " * 65_536  # no Content-Length: counted as it arrives

    response = await client.post(
        "/api/g_variants", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413)


async def test_unknown_path_and_method(client: httpx.AsyncClient):
    assert_problem(await client.get("/v1/nothing"), 404)
    assert_problem(await client.delete("/v1/datasets"), 405)


async def test_all_nodes_failed_is_503_with_outcomes():
    outcomes = [failed_outcome("fi-helsinki-1", "FI"), failed_outcome("no-oslo-1", "NO")]
    backend = FakeBackend(error=unavailable(outcomes))
    async with asgi_client(backend) as http:
        response = await http.get(f"/v1/variants/1-{POS}-G-A")
        body = assert_problem(response, 503)
        assert [o["node_id"] for o in body["outcomes"]] == ["fi-helsinki-1", "no-oslo-1"]
        assert body["outcomes"][0]["status"]["code_name"] == "UNAVAILABLE"
        beacon = await http.get(
            "/api/g_variants",
            params={
                "referenceName": "1",
                "start": "9",
                "referenceBases": "A",
                "alternateBases": "T",
            },
        )
        assert assert_problem(beacon, 503)["outcomes"]


async def test_unreachable_node_is_503():
    backend = GrpcBackend(dead_address())  # nothing listens there
    try:
        async with asgi_client(backend, HttpSettings(timeout_s=2.0)) as http:
            body = assert_problem(await http.get(f"/v1/variants/1-{POS}-G-A"), 503)
            assert "unavailable" in body["detail"].lower()
    finally:
        await backend.close()


async def test_unexpected_backend_failure_is_500_without_internals():
    backend = FakeBackend(error=RuntimeError("secret stack detail"))
    async with asgi_client(backend) as http:
        body = assert_problem(await http.get(f"/v1/variants/1-{POS}-G-A"), 500)
        assert "secret" not in body["detail"]
