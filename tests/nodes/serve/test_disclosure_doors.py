"""A floored dataset releases the same cells through every door, and nothing derivable.

A real index built from a GDI-labelled VCF, served by a real node with
``min_allele_count`` and ``min_individuals``; a real gateway (gRPC and HTTP) over it.
Every variant's answer from exact lookup is judged against the rows the VCF was made
from (:mod:`tests.disclosure_oracle`), and batch, region pages, a population filter,
the gateway, the JSON API and Beacon must answer the very same cells.
"""

from __future__ import annotations

import random
from pathlib import Path

import grpc
import httpx
import pytest

from gateway.server import RunningGateway, start_gateway
from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import RunningNode, start_node
from tests.disclosure_data import LABELS, PARTITIONS, make_records
from tests.disclosure_oracle import ReleaseJudge
from tests.vcf_factory import write_sites_vcf

COUNTRY = "LU"
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
MIN_ALLELE_COUNT, MIN_INDIVIDUALS = 5, 3
ALLELE_FLOOR, INDIVIDUAL_FLOOR = 5, 3  # max(5, 2*3-1), max(3, ceil(5/2)): written out


def build(root: Path, records) -> Path:
    vcf = write_sites_vcf(root / "lu.vcf", records, LABELS, style="gdi", bgzip=True)
    out = root / "lu-floored"
    build_index(BuildOptions(inputs=[vcf], dataset_id="lu-floored", out=out, progress=False))
    return out


def shown(frequency: allele_pb2.VariantFrequency) -> dict[str, tuple]:
    """label -> (precision, AC, AN, hom, het) of every row, presence kept."""

    def row(c: allele_pb2.AlleleCounts) -> tuple:
        names = ("allele_count", "allele_number", "homozygous_count", "heterozygous_count")
        return (c.precision, *(getattr(c, n) if c.HasField(n) else None for n in names))

    rows = {"Total": row(frequency.counts)}
    rows.update({p.population: row(p.counts) for p in frequency.populations})
    return rows


def variant_message(v) -> allele_pb2.Variant:
    return allele_pb2.Variant(chromosome=v[0], position=v[1], reference_bases=v[2],
                              alternate_bases=v[3])  # fmt: skip


async def start_floored_mesh(index: Path) -> tuple[RunningNode, RunningGateway]:
    """The floored LU node over ``index`` and a gateway (gRPC and HTTP) over it."""
    config = NodeConfig(
        id="lu-node-1",
        country=COUNTRY,
        listen="127.0.0.1:0",
        reload_interval_s=0,
        datasets=(
            DatasetConfig(
                "lu-floored",
                index,
                min_allele_count=MIN_ALLELE_COUNT,
                min_individuals=MIN_INDIVIDUALS,
            ),
        ),
    )
    node = await start_node(config, insecure=True)
    gateway = await start_gateway(
        GatewayConfig(
            id="gw-1",
            listen="127.0.0.1:0",
            http_listen="127.0.0.1:0",
            peers=(PeerConfig("lu-node-1", COUNTRY, (f"127.0.0.1:{node.port}",)),),
        ),
        insecure=True,
    )
    return node, gateway


async def judged_exact_answers(
    stub: allele_service_pb2_grpc.AlleleFrequencyServiceStub, raw: dict
) -> dict[tuple, dict[str, tuple]]:
    """Every variant's exact lookup at the node, judged by the oracle: variant -> rows."""
    exact = {}
    for v, rows in raw.items():
        answer = await stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant_message(v))
        )
        (frequency,) = answer.frequencies
        ReleaseJudge(
            rows,
            {"Total": frequency.counts} | {p.population: p.counts for p in frequency.populations},
            PARTITIONS,
            allele_floor=ALLELE_FLOOR,
            individual_floor=INDIVIDUAL_FLOOR,
        ).check()
        exact[v] = shown(frequency)
    withheld = sum(r[0] == SUPPRESSED for rows in exact.values() for r in rows.values())
    assert withheld > 10, "the data should make the floors bite"
    return exact


async def test_every_door_releases_the_same_undecidable_cells(tmp_path: Path):
    records, raw = make_records(random.Random(20), 40)
    index = build(tmp_path, records)
    node, gateway = await start_floored_mesh(index)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            exact = await judged_exact_answers(stub, raw)

            batch = await stub.BatchLookupVariants(
                allele_service_pb2.BatchLookupVariantsRequest(
                    variants=[variant_message(v) for v in raw]
                )
            )
            assert [shown(r.frequencies[0]) for r in batch.results] == list(exact.values())

            region, token = [], ""
            for _ in range(20):
                page = await stub.SearchRegion(
                    allele_service_pb2.SearchRegionRequest(
                        region=allele_pb2.Region(chromosome="1", start=1, end=10_000_000),
                        page_size=7,
                        page_token=token,
                    )
                )
                region += [shown(f) for f in page.frequencies]
                token = page.next_page_token
                if not token:
                    break
            assert region == list(exact.values())

            v = next(v for v, rows in exact.items() if "FR_F" in rows)
            one = await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(
                    variant=variant_message(v), populations=["FR_F"]
                )
            )
            rows = shown(one.frequencies[0])
            assert rows == {k: exact[v][k] for k in ("Total", "FR_F")}

        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
            mesh = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            for v in list(raw)[:10]:
                answer = await mesh.LookupVariant(
                    allele_service_pb2.LookupVariantRequest(variant=variant_message(v))
                )
                assert shown(answer.frequencies[0]) == exact[v]

        assert gateway.http is not None
        async with httpx.AsyncClient(base_url=gateway.http.url, timeout=30) as http:
            for v in list(raw)[:10]:
                body = (await http.get(f"/v1/variants/{v[0]}-{v[1]}-{v[2]}-{v[3]}")).json()
                (frequency,) = body["frequencies"]
                rows = {"Total": frequency["counts"]}
                rows.update({p["population"]: p["counts"] for p in frequency["populations"]})
                assert {k: r["precision"].endswith("SUPPRESSED") for k, r in rows.items()} == {
                    k: r[0] == SUPPRESSED for k, r in exact[v].items()
                }
                assert {k: r["allele_count"] for k, r in rows.items()} == {
                    k: r[1] for k, r in exact[v].items()
                }
                beacon = await http.get(
                    "/api/g_variants",
                    params={
                        "referenceName": v[0],
                        "start": str(v[1] - 1),
                        "referenceBases": v[2],
                        "alternateBases": v[3],
                        "requestedGranularity": "record",
                    },
                )
                assert beacon.status_code == 200, beacon.text
                assert beacon_counts(beacon.json()) == {
                    # (Beacon leaves out a row without samples: it has no frequency)
                    k: r[1]
                    for k, r in exact[v].items()
                    if r[0] != SUPPRESSED and r[2]
                }
    finally:
        await gateway.stop(grace=1.0)
        await node.stop(0)


def beacon_counts(document: dict) -> dict[str, int]:
    """label -> alleleCount of the released entries (the total shown as the country)."""
    out = {}
    for result_set in document["response"]["resultSets"]:
        for record in result_set["results"]:
            for source in record.get("frequencyInPopulations", []):
                for entry in source["frequencies"]:
                    label = entry["population"]
                    if label == COUNTRY:
                        label = "Total"
                    elif label in (f"{COUNTRY}_M", f"{COUNTRY}_F"):
                        label = label[-1]  # older gateways relabel M as <CC>_M
                    out[label] = entry["alleleCount"]
    return out


@pytest.mark.parametrize("collapse", [False, True])
def test_open_datasets_keep_the_fast_path(collapse: bool):
    from nodes.serve.policy import PrivacyPolicy

    assert PrivacyPolicy().exact
    assert not PrivacyPolicy(min_individuals=5, collapse=collapse).exact
    assert not PrivacyPolicy(min_allele_count=2).exact
