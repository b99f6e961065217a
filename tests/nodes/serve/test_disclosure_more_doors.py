"""The floored dataset through the gene, rsID, annotate and pages' doors: the same cells.

The sibling of :mod:`tests.nodes.serve.test_disclosure_doors` (its helpers, the same
oracle): a real floored node and a real gateway over a GDI-labelled VCF whose records
lie in PCSK9's span (read with csv from the shipped table, :func:`tests.gene_world.table_span`)
and carry rsIDs. Exact lookup at the node is judged by :class:`ReleaseJudge`; then gRPC
SearchGene, ``GET /v1/genes``, Beacon ``geneId``, gRPC LookupVariantId, ``GET /v1/rsids``,
Beacon ``genomicAlleleShortForm=rs…``, the JSON the pages fetch (``/v1/variants:batch``,
``/v1/regions`` pages) and ``allelemesh annotate`` (its own process, output read with
pysam) must each release exactly those cells.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from pathlib import Path

import grpc
import httpx
import pysam

from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    gene_service_pb2,
    gene_service_pb2_grpc,
)
from tests.disclosure_data import LABELS, make_records
from tests.gene_world import table_span
from tests.nodes.serve.test_disclosure_doors import (
    COUNTRY,
    SUPPRESSED,
    beacon_counts,
    build,
    judged_exact_answers,
    shown,
    start_floored_mesh,
)

GENE = "PCSK9"
COUNT_NAMES = ("allele_count", "allele_number", "homozygous_count", "heterozygous_count")


def rsid(i: int) -> str:
    return f"rs{7000 + i}"


def json_shown(frequency: dict) -> dict[str, tuple]:
    """label -> (precision, AC, AN, hom, het) of a JSON frequency, as :func:`shown` reads gRPC."""

    def row(c: dict) -> tuple:
        return (allele_pb2.CountPrecision.Value(c["precision"]), *(c[n] for n in COUNT_NAMES))

    rows = {"Total": row(frequency["counts"])}
    rows.update({p["population"]: row(p["counts"]) for p in frequency["populations"]})
    return rows


def check_json_result(result: dict, exact: dict) -> None:
    """One JSON result: its dataset row is the released cells; its pooled rows add nothing."""
    (frequency,) = result["frequencies"]
    variant = result["variant"]
    key = (variant["chromosome"], variant["position"], variant["reference_bases"],
           variant["alternate_bases"])  # fmt: skip
    assert json_shown(frequency) == exact[key], key
    for extra in ({"counts": result["pooled"]}, *result["pooled_populations"],
                  *result["pooled_countries"]):  # fmt: skip
        # One dataset: a pooled row is its released cell, or withheld (no count) with it.
        row = exact[key].get(extra.get("population", "Total"), (SUPPRESSED, None, None))
        counts = extra["counts"]
        precision = allele_pb2.CountPrecision.Value(counts["precision"])
        if row[0] == SUPPRESSED:
            assert precision == SUPPRESSED, (key, extra)
            assert not counts["allele_count"], (key, extra)
        else:
            assert (precision, counts["allele_count"], counts["allele_number"]) == row[:3], (
                key,
                extra,
            )


async def test_gene_rsid_annotate_and_pages_release_the_same_cells(tmp_path: Path):
    chrom, gene_start, gene_end = table_span(GENE)
    assert chrom == "1"
    records, raw = make_records(random.Random(20), 40, start=gene_start + 200)
    assert max(v[1] for v in raw) < gene_end, "every variant in the gene's span"
    for i, record in enumerate(records):
        record.id = rsid(i)
    index = build(tmp_path, records)
    ids = {rsid(i): (r.chrom, r.pos, r.ref, r.alts[0]) for i, r in enumerate(records)}
    node, gateway = await start_floored_mesh(index)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            exact = await judged_exact_answers(stub, raw)
            assert any(rows["Total"][0] == SUPPRESSED for rows in exact.values())

            # rsID at the node.
            for name, v in list(ids.items())[:10]:
                by_id = await stub.LookupVariantId(
                    allele_service_pb2.LookupVariantIdRequest(variant_id=name)
                )
                (result,) = by_id.results
                assert [shown(f) for f in result.frequencies] == [exact[v]], name

        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
            genes = gene_service_pb2_grpc.GeneServiceStub(channel)
            gene_rows, token = {}, ""
            for _ in range(20):
                page = await genes.SearchGene(
                    gene_service_pb2.SearchGeneRequest(gene=GENE, page_size=7, page_token=token)
                )
                for item in page.variants:
                    (frequency,) = item.frequencies
                    key = (item.variant.chromosome, item.variant.position,
                           item.variant.reference_bases, item.variant.alternate_bases)  # fmt: skip
                    gene_rows[key] = shown(frequency)
                    total = exact[key]["Total"]
                    pooled = [("Total", item.pooled)]
                    pooled += [("Total", c.counts) for c in item.countries]
                    pooled += [(p.population, p.counts) for p in item.pooled_populations]
                    for label, counts in pooled:  # one dataset: a pooled row is its cell
                        row = exact[key].get(label, (SUPPRESSED, None, None))
                        if row[0] == SUPPRESSED:
                            assert counts.precision == SUPPRESSED, (key, label)
                            assert not counts.allele_count, (key, label)
                        else:
                            got = (counts.precision, counts.allele_count, counts.allele_number)
                            assert got == row[:3], (key, label)
                token = page.next_page_token
                if not token:
                    break
            assert gene_rows == exact

            mesh = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            for name, v in ids.items():
                by_id = await mesh.LookupVariantId(
                    allele_service_pb2.LookupVariantIdRequest(variant_id=name)
                )
                (result,) = by_id.results
                assert [shown(f) for f in result.frequencies] == [exact[v]], name

        assert gateway.http is not None
        async with httpx.AsyncClient(base_url=gateway.http.url, timeout=30) as http:
            # The JSON the pages fetch: gene, rsID, batch and region answers.
            seen, token = set(), ""
            for _ in range(20):
                answer = await http.get(
                    f"/v1/genes/{GENE}", params={"page_size": 9, "page_token": token}
                )
                assert answer.status_code == 200, answer.text
                body = answer.json()
                for result in body["results"]:
                    check_json_result(result, exact)
                    seen.add(result["variant"]["position"])
                token = body["next_page_token"]
                if not token:
                    break
            assert seen == {v[1] for v in exact}

            for name in list(ids)[:15]:
                answer = await http.get(f"/v1/rsids/{name}")
                assert answer.status_code == 200, answer.text
                (result,) = answer.json()["results"]
                check_json_result(result, exact)

            batch = await http.post(
                "/v1/variants:batch",
                json={"variants": [f"{v[0]}-{v[1]}-{v[2]}-{v[3]}" for v in exact]},
            )
            assert batch.status_code == 200, batch.text
            results = batch.json()["results"]
            assert len(results) == len(exact)
            for result in results:
                check_json_result(result, exact)

            seen, token = set(), ""
            region = f"1:{gene_start}-{gene_end}"
            for _ in range(20):
                answer = await http.get(
                    f"/v1/regions/{region}", params={"page_size": 8, "page_token": token}
                )
                assert answer.status_code == 200, answer.text
                body = answer.json()
                for frequency in body["frequencies"]:  # region pages: dataset rows only
                    v = frequency["variant"]
                    key = (v["chromosome"], v["position"], v["reference_bases"],
                           v["alternate_bases"])  # fmt: skip
                    assert json_shown(frequency) == exact[key], key
                    seen.add(v["position"])
                token = body["next_page_token"]
                if not token:
                    break
            assert seen == {v[1] for v in exact}

            # Beacon: by gene, and by rsID.
            beacon = await http.get(
                "/api/g_variants",
                params={"geneId": GENE, "requestedGranularity": "record", "limit": "100"},
            )
            assert beacon.status_code == 200, beacon.text
            assert beacon_by_variant(beacon.json()) == {
                v: released_for_beacon(rows) for v, rows in exact.items()
            }
            for name, v in list(ids.items())[:10]:
                beacon = await http.get(
                    "/api/g_variants",
                    params={"genomicAlleleShortForm": name, "requestedGranularity": "record"},
                )
                assert beacon.status_code == 200, beacon.text
                assert beacon_counts(beacon.json()) == released_for_beacon(exact[v]), name

        # annotate: its own process against the gateway; every column read back with pysam.
        out = tmp_path / "annotated.vcf"
        populations = ",".join(LABELS)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mesh", "annotate", str(tmp_path / "lu.vcf.gz"),
            "--target", f"127.0.0.1:{gateway.port}", "--insecure", "-o", str(out),
            "--fields", "AC,AN,HOM,HET", "--populations", populations,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        )  # fmt: skip
        _stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, stderr.decode()
    finally:
        await gateway.stop(grace=1.0)
        await node.stop(0)

    annotated = {}
    with pysam.VariantFile(str(out)) as vcf:
        for record in vcf:
            key = (record.chrom.removeprefix("chr"), record.pos, record.ref, record.alts[0])
            annotated[key] = {
                label: tuple(
                    _one(record, f"{field}_{COUNTRY}{suffix}")
                    for field in ("AC", "AN", "HOM", "HET")
                )
                for label, suffix in [("Total", ""), *((p, f"_{p}") for p in LABELS)]
            }
            mesh_total = tuple(_one(record, f"{f}_MESH") for f in ("AC", "AN"))
            total = exact[key]["Total"]
            assert mesh_total == ((None, None) if total[0] == SUPPRESSED else total[1:3]), key
    assert annotated == {
        v: {
            label: (None,) * 4 if label not in rows or rows[label][0] == SUPPRESSED
            else rows[label][1:]
            for label in ("Total", *LABELS)
        }
        for v, rows in exact.items()
    }  # fmt: skip


def released_for_beacon(rows: dict[str, tuple]) -> dict[str, int]:
    """What Beacon shows of released rows (a row without samples has no frequency)."""
    return {k: r[1] for k, r in rows.items() if r[0] != SUPPRESSED and r[2]}


def beacon_by_variant(document: dict) -> dict[tuple, dict[str, int]]:
    """variant -> label -> alleleCount, one record at a time through :func:`beacon_counts`."""
    out = {}
    for result_set in document["response"]["resultSets"]:
        for record in result_set["results"]:
            location = record["variation"]["location"]
            ref = record["variation"]["referenceBases"]
            alt = record["variation"]["alternateBases"]
            key = ("1", location["interval"]["start"]["value"] + 1, ref, alt)  # all on 1
            one = {"response": {"resultSets": [{"results": [record]}]}}
            out[key] = beacon_counts(one)
    return out


def _one(record: pysam.VariantRecord, key: str) -> int | None:
    values = record.info.get(key)
    return None if values is None else values[0]
