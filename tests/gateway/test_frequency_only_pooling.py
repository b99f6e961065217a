"""An AF-only dataset behind a real gateway: the pooled rows skip it and say so.

Three countries answer one variant: NO's dataset is AF-only (``gdi-frequencies``:
``AF``/``AF_NFE``, as GDI's writer may ship it), SE's and FI's carry counts for the
same total and the same ``NFE`` label. The pooled total and the pooled ``NFE`` row are
the sums of SE and FI (computed here from what this test wrote), ``ROUNDED`` and a
lower bound (the AF-only part is skipped, not summed and not making the sum unknown),
in gRPC and in the JSON API; the AF-only row itself keeps its frequency with counts
absent (``null``, never 0).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.http.app import create_app
from gateway.http.backend import GrpcBackend
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.mesh_harness import NodeSpec, running_mesh

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
POS = 2_000_000
CONTIG = "##contig=<ID=1,length=248956422>"
#: counted dataset -> country, total (AC, AN), NFE (AC, AN).
COUNTED = {"se-ds": ("SE", (5, 100), (3, 40)), "fi-ds": ("FI", (7, 200), (2, 60))}
AF_ONLY = {"": 0.25, "NFE": 0.5}


def _info(key: str, number: str, kind: str) -> str:
    return f'##INFO=<ID={key},Number={number},Type={kind},Description="{key}">'


def _write(path: Path, header: list[str], info: str) -> Path:
    lines = ["##fileformat=VCFv4.2", CONTIG, *header]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    lines.append(f"1\t{POS}\t.\tA\tG\t.\tPASS\t{info}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _indexes(tmp: Path) -> list[tuple[str, Path]]:
    out = []
    header = [_info("AF", "A", "Float"), _info("AF_NFE", "A", "Float")]
    vcf = _write(tmp / "no.vcf", header, f"AF={AF_ONLY['']};AF_NFE={AF_ONLY['NFE']}")
    out.append(("NO", vcf, "no-ds"))
    for dataset_id, (country, (ac, an), (nac, nan)) in COUNTED.items():
        header = [
            _info("AC", "A", "Integer"),
            _info("AN", "1", "Integer"),
            _info("AC_NFE", "A", "Integer"),
            _info("AN_NFE", "1", "Integer"),
        ]
        info = f"AC={ac};AN={an};AC_NFE={nac};AN_NFE={nan}"
        out.append((country, _write(tmp / f"{dataset_id}.vcf", header, info), dataset_id))
    built = []
    for country, vcf, dataset_id in out:
        index = tmp / dataset_id
        build_index(BuildOptions([vcf], dataset_id, index, progress=False))
        built.append((country, index))
    return built


async def test_an_af_only_part_is_skipped_and_the_pool_says_so(tmp_path: Path) -> None:
    built = _indexes(tmp_path)
    assert read_metadata(built[0][1]).info_convention == "gdi-frequencies"
    specs = [NodeSpec(f"{cc.lower()}-1", cc, [index]) for cc, index in built]
    variant = allele_pb2.Variant(
        chromosome="1", position=POS, reference_bases="A", alternate_bases="G"
    )
    async with running_mesh(specs) as mesh:
        single = await mesh.allele.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant), timeout=10
        )
        backend = GrpcBackend(f"127.0.0.1:{mesh.client.gateway.port}")
        try:
            transport = httpx.ASGITransport(app=create_app(backend))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                body = (await http.get(f"/v1/variants/1-{POS}-A-G")).json()
        finally:
            await backend.close()

    want_total = tuple(sum(c[1][i] for c in COUNTED.values()) for i in (0, 1))
    want_nfe = tuple(sum(c[2][i] for c in COUNTED.values()) for i in (0, 1))
    assert want_total == (12, 300)
    assert want_nfe == (5, 100)
    # gRPC: every dataset answered; the AF-only row is a frequency with counts absent.
    rows = {f.dataset_id: f for f in single.frequencies}
    assert set(rows) == {"no-ds", *COUNTED}
    af_only = rows["no-ds"].counts
    assert not af_only.HasField("allele_count")
    assert not af_only.HasField("allele_number")
    assert af_only.allele_frequency == pytest.approx(AF_ONLY[""])
    pooled = single.pooled
    assert (pooled.allele_count, pooled.allele_number) == want_total
    assert pooled.allele_frequency == pytest.approx(want_total[0] / want_total[1])
    assert pooled.precision == ROUNDED  # a part skipped: not exact
    by_label = {p.population: p.counts for p in single.pooled_populations}
    assert (by_label["NFE"].allele_count, by_label["NFE"].allele_number) == want_nfe
    assert by_label["NFE"].precision == ROUNDED
    # JSON: the same sums, marked a lower bound; the AF-only row's counts are null.
    assert body["pooled"]["allele_count"] == want_total[0]
    assert body["pooled"]["allele_number"] == want_total[1]
    assert body["pooled"]["precision"] == "COUNT_PRECISION_ROUNDED"
    assert body["pooled"]["lower_bound"] is True
    nfe = next(p["counts"] for p in body["pooled_populations"] if p["population"] == "NFE")
    assert (nfe["allele_count"], nfe["allele_number"], nfe["lower_bound"]) == (*want_nfe, True)
    json_rows = {f["dataset_id"]: f["counts"] for f in body["frequencies"]}
    assert json_rows["no-ds"]["allele_count"] is None
    assert json_rows["no-ds"]["allele_number"] is None
    assert json_rows["no-ds"]["allele_frequency"] == pytest.approx(AF_ONLY[""])
    # The countries' own rows: NO has nothing to sum (no counts, not a zero).
    countries = {c["country"]: c["counts"] for c in body["pooled_countries"]}
    assert countries["NO"]["allele_count"] is None
    assert countries["SE"]["allele_count"] == COUNTED["se-ds"][1][0]
    assert countries["SE"]["lower_bound"] is False


async def test_without_the_af_only_dataset_the_pool_is_exact(tmp_path: Path) -> None:
    """The control: the same counted datasets alone pool exact, not a lower bound."""
    built = _indexes(tmp_path)[1:]
    specs = [NodeSpec(f"{cc.lower()}-1", cc, [index]) for cc, index in built]
    variant = allele_pb2.Variant(
        chromosome="1", position=POS, reference_bases="A", alternate_bases="G"
    )
    async with running_mesh(specs) as mesh:
        single = await mesh.allele.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant), timeout=10
        )
    assert (single.pooled.allele_count, single.pooled.allele_number) == (12, 300)
    assert single.pooled.precision == EXACT
