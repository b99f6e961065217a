"""Failed nodes are reported, never dropped; rounded and suppressed counts are never exact."""

from __future__ import annotations

from mesh.v1 import allele_pb2, allele_service_pb2
from tests.gateway.http import beacon_schemas as bs
from tests.gateway.http.conftest import asgi_client
from tests.gateway.http.fakes import FakeBackend, failed_outcome, ok_outcome

PARAMS = {
    "referenceName": "1",
    "start": "99",
    "referenceBases": "A",
    "alternateBases": "T",
    "requestedGranularity": "record",
}


def counts(ac: int, an: int, precision: int) -> allele_pb2.AlleleCounts:
    return allele_pb2.AlleleCounts(
        allele_count=ac,
        allele_number=an,
        allele_frequency=ac / an if an else 0.0,
        precision=precision,
    )


def lookup_response() -> allele_service_pb2.LookupVariantResponse:
    frequency = allele_pb2.VariantFrequency(
        variant=allele_pb2.Variant(
            chromosome="1", position=100, reference_bases="A", alternate_bases="T"
        ),
        dataset_id="fi-gdi",
        node_id="fi-helsinki-1",
        country="FI",
        counts=counts(20, 1000, allele_pb2.COUNT_PRECISION_ROUNDED),
        populations=[
            allele_pb2.PopulationFrequency(
                population="M", counts=counts(10, 500, allele_pb2.COUNT_PRECISION_ROUNDED)
            ),
            allele_pb2.PopulationFrequency(
                population="F", counts=counts(0, 0, allele_pb2.COUNT_PRECISION_SUPPRESSED)
            ),
        ],
    )
    return allele_service_pb2.LookupVariantResponse(
        frequencies=[frequency],
        outcomes=[ok_outcome("fi-helsinki-1", "FI"), failed_outcome("lu-1", "LU", "deadline")],
    )


async def test_failed_node_is_reported_in_info():
    async with asgi_client(FakeBackend(lookup=lookup_response())) as http:
        for granularity in ("boolean", "count", "record"):
            response = await http.get(
                "/api/g_variants", params={**PARAMS, "requestedGranularity": granularity}
            )
            assert response.status_code == 200, response.text
            document = response.json()
            bs.assert_g_variants_valid(document)
            info = document["info"]
            assert [o["node_id"] for o in info["failedNodes"]] == ["lu-1"]
            assert info["failedNodes"][0]["status"]["code_name"] == "UNAVAILABLE"
            assert "lu-1" in info["warning"]
            assert len(info["outcomes"]) == 2


async def test_rounded_and_suppressed_counts_are_not_shown_as_exact():
    async with asgi_client(FakeBackend(lookup=lookup_response())) as http:
        document = (await http.get("/api/g_variants", params=PARAMS)).json()
    bs.assert_g_variants_valid(document)
    (result_set,) = document["response"]["resultSets"]
    assert "rounded" in result_set["info"]["countPrecision"]
    (record,) = result_set["results"]
    frequencies = {f["population"]: f for f in record["frequencyInPopulations"][0]["frequencies"]}
    # The suppressed group is withheld, not shown as a zero count; labels are unchanged.
    assert set(frequencies) == {"Total", "M"}
    assert all(f["countPrecision"] == "rounded" for f in frequencies.values())
    assert record["info"]["suppressedPopulations"] == ["F"]
    assert "suppressed" in document["info"]["countPrecision"]


async def test_scope_and_dataset_ids_reach_the_backend():
    backend = FakeBackend(lookup=lookup_response())
    async with asgi_client(backend) as http:
        await http.get("/api/g_variants", params={**PARAMS, "datasetIds": "a,b"})
    (request,) = [r for r in backend.requests if hasattr(r, "variant")]
    assert list(request.dataset_ids) == ["a", "b"]
    assert request.scope == allele_pb2.SCOPE_MESH
    assert request.variant.position == 100  # start 99 is 0-based
