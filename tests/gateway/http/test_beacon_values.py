"""Beacon answers carry the right numbers, at the right (0-based) coordinates."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.http import beacon_schemas as bs
from tests.gateway.http.harness import EXPECTED, GNOMAD_RECORDS, POS, RANGE_COUNT, RANGE_START


async def g_variants(client: httpx.AsyncClient, **params: str) -> dict:
    response = await client.get("/api/g_variants", params=params)
    assert response.status_code == 200, response.text
    document = response.json()
    bs.assert_g_variants_valid(document)
    return document


def records_by_dataset(document: dict) -> dict[str, list[dict]]:
    return {s["id"]: s["results"] for s in document["response"]["resultSets"]}


def frequencies(record: dict) -> dict[str, tuple[int, int, int, int, int]]:
    (source,) = record["frequencyInPopulations"]
    out = {}
    for f in source["frequencies"]:
        # A count the dataset did not give is left out (never 0).
        counts = (
            f.get("alleleCount"),
            f.get("alleleNumber"),
            f.get("alleleCountHomozygous"),
            f.get("alleleCountHeterozygous"),
            f.get("alleleCountHemizygous"),
        )
        assert f["alleleFrequency"] == pytest.approx(counts[0] / counts[1])
        assert f["countPrecision"] == "exact"
        out[f["population"]] = counts
    return out


def gdi_labels(expected: dict[str, tuple]) -> dict[str, tuple]:
    """The labels the Beacon should show: the total as Total, every other label unchanged."""
    return {("Total" if label == "" else label): counts for label, counts in expected.items()}


@pytest.mark.parametrize("alt", ["A", "GA"])
async def test_sequence_query_numbers(client: httpx.AsyncClient, alt: str):
    document = await g_variants(
        client,
        referenceName="1",
        start=str(POS - 1),
        referenceBases="G",
        alternateBases=alt,
        requestedGranularity="record",
    )
    by_dataset = records_by_dataset(document)
    (record,) = by_dataset["no-gnomad"]
    assert frequencies(record) == gdi_labels(EXPECTED["no-gnomad"][("1", POS, "G", alt)])
    assert record["variantInternalId"] == f"GRCh38:1-{POS}-G-{alt}"
    variation = record["variation"]
    assert variation["location"]["interval"]["start"]["value"] == POS - 1
    assert variation["location"]["interval"]["end"]["value"] == POS
    assert variation["variantType"] == ("SNP" if alt == "A" else "INS")
    if alt == "A":
        (gdi,) = by_dataset["no-gdi"]
        # The GDI file's NO group (country of birth) is its own row beside Total.
        assert frequencies(gdi) == gdi_labels(EXPECTED["no-gdi"][("1", POS, "G", "A")])
        assert record["identifiers"]["genomicHGVSId"] == f"NC_000001.11:g.{POS}G>A"
    else:
        assert set(by_dataset) == {"no-gnomad"}


@pytest.mark.parametrize(
    ("start", "hit"),
    [(POS - 1, True), (POS, False), (POS - 2, False)],
    ids=["start=POS-1", "start=POS", "start=POS-2"],
)
async def test_sequence_start_is_zero_based(client: httpx.AsyncClient, start: int, hit: bool):
    document = await g_variants(
        client,
        referenceName="1",
        start=str(start),
        referenceBases="G",
        alternateBases="A",
        requestedGranularity="count",
    )
    assert document["responseSummary"]["exists"] is hit


@pytest.mark.parametrize(
    ("start", "end", "hit"),
    [
        (POS - 1, POS, True),  # interbase [POS-1, POS) is exactly the base at POS
        (POS, POS + 1, False),  # the next base
        (POS - 2, POS - 1, False),  # the base before
    ],
)
async def test_range_is_zero_based_half_open(client: httpx.AsyncClient, start, end, hit):
    document = await g_variants(
        client, referenceName="1", start=str(start), end=str(end), requestedGranularity="count"
    )
    # Two alleles at POS in no-gnomad (A, GA), one in no-gdi.
    assert document["responseSummary"]["numTotalResults"] == (3 if hit else 0)


def _range_expected() -> list[tuple[int, str]]:
    """(position, alt) of every allele in the paging range, genomic order, both datasets."""
    rows = [
        (r.pos, a)
        for r in GNOMAD_RECORDS
        for a in r.alts
        if r.pos >= RANGE_START and r.chrom == "1"
    ]
    rows.append((RANGE_START + 1, "T"))  # no-gdi
    return sorted(rows)


async def test_range_paging_with_skip_and_limit(client: httpx.AsyncClient):
    expected = _range_expected()
    end = str(RANGE_START + 3 * RANGE_COUNT)
    seen: dict[str, list[tuple[int, str]]] = {}
    skip = 0
    while True:
        document = await g_variants(
            client,
            referenceName="1",
            start=str(RANGE_START - 1),
            end=end,
            requestedGranularity="record",
            skip=str(skip),
            limit="4",
        )
        # limit counts results within each result set (dataset), in genomic order.
        for result_set in document["response"]["resultSets"]:
            page = [
                (r["variation"]["location"]["interval"]["start"]["value"] + 1,
                 r["variation"]["alternateBases"])
                for r in result_set["results"]
            ]  # fmt: skip
            assert len(page) <= 4
            assert page == sorted(page)
            seen.setdefault(result_set["id"], []).extend(page)
        paging = document["info"]["pagination"]
        if not paging["hasMore"]:
            assert document["responseSummary"]["numTotalResults"] == len(expected)
            break
        skip = paging["nextSkip"]
        assert skip % 4 == 0
        assert skip > 0
    assert sorted(p for rows in seen.values() for p in rows) == expected
    assert seen["no-gdi"] == [(RANGE_START + 1, "T")]
    counted = await g_variants(
        client, referenceName="1", start=str(RANGE_START - 1), end=end, requestedGranularity="count"
    )
    assert counted["responseSummary"]["numTotalResults"] == len(expected)


async def test_variant_type_filters_a_range(client: httpx.AsyncClient):
    end = str(RANGE_START + 3 * RANGE_COUNT)
    document = await g_variants(
        client,
        referenceName="1",
        start=str(RANGE_START - 1),
        end=end,
        variantType="INS",
        requestedGranularity="count",
    )
    insertions = [p for p, alt in _range_expected() if len(alt) > 1]
    assert document["responseSummary"]["numTotalResults"] == len(insertions)


async def test_genomic_allele_short_form(client: httpx.AsyncClient):
    document = await g_variants(
        client, genomicAlleleShortForm=f"NC_000001.11:g.{POS}G>A", requestedGranularity="count"
    )
    assert document["responseSummary"]["numTotalResults"] == 2


async def test_post_with_entry_type_keyed_parameters(client: httpx.AsyncClient):
    body = {
        "meta": {"apiVersion": "v2.0.0"},
        "query": {
            "requestParameters": {
                "g_variant": {
                    "assemblyId": "GRCh38",
                    "referenceName": "NC_000001.11",
                    "start": [POS - 1],
                    "referenceBases": "G",
                    "alternateBases": "A",
                }
            },
            "requestedGranularity": "count",
            "datasets": {"datasetIds": ["no-gdi"]},
        },
    }
    response = await client.post("/api/g_variants", json=body)
    assert response.status_code == 200, response.text
    document = response.json()
    bs.assert_g_variants_valid(document)
    assert document["responseSummary"]["numTotalResults"] == 1
    assert document["info"]["failedNodes"] == []
    assert [o["node_id"] for o in document["info"]["outcomes"]] == ["no-oslo-1"]
