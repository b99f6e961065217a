"""Pooled population rows at the gateway: every label more than one dataset reports.

Three countries' datasets report overlapping labels; one (LU) withholds its small NFE
cell (``min_allele_count``). Expected rows are sums of the counts this test wrote, over
the datasets whose cell was released; a withheld part makes the row a lower bound.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx

from gateway.http.app import create_app
from gateway.http.backend import GrpcBackend
from mesh.config import NodeConfig
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.build.builder import BuildOptions, build_index
from tests.mesh_harness import NodeSpec, running_mesh
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
POS = 1_000_000
#: dataset -> (country, {label: (AN, AC, hom)}), total AN 2000 everywhere.
WRITTEN = {
    "no-ds": ("NO", {"AFR": (800, 30, 2), "NFE": (1200, 40, 3),
                     "M": (1000, 35, 2), "F": (1000, 35, 3)}),
    "fi-ds": ("FI", {"NFE": (1500, 60, 4), "M": (700, 20, 1)}),
    "lu-ds": ("LU", {"NFE": (600, 2, 0), "M": (900, 9, 1)}),
}  # fmt: skip
MIN_AC = {"lu-ds": 5}


@dataclasses.dataclass
class FlooredSpec(NodeSpec):
    """A node whose dataset has a ``min_allele_count``."""

    min_allele_count: int = 0

    def config(self) -> NodeConfig:
        config = super().config()
        datasets = tuple(
            dataclasses.replace(d, min_allele_count=self.min_allele_count) for d in config.datasets
        )
        return dataclasses.replace(config, datasets=datasets)


def _index(tmp: Path, dataset_id: str) -> Path:
    _country, cells = WRITTEN[dataset_id]
    total_ac = sum(ac for label, (_an, ac, _h) in cells.items() if label in ("M", "F"))
    total = GroupCounts(an=2000, ac=[max(total_ac, 50)], hom=[3])
    populations = {k: GroupCounts(an=an, ac=[ac], hom=[h]) for k, (an, ac, h) in cells.items()}
    record = SiteRecord("1", POS, "A", ["G"], total, populations)
    vcf = write_sites_vcf(tmp / f"{dataset_id}.vcf", [record], list(cells), bgzip=True)
    out = tmp / dataset_id
    build_index(BuildOptions([vcf], dataset_id, out, progress=False))
    return out


def _expected(
    released: dict[str, set[str]], with_hom: dict[str, set[str]]
) -> dict[str, tuple[int, int, int | None, int]]:
    """label -> (AC, AN, hom, precision) over the datasets that released the cell.

    A homozygous count some released part withholds leaves the pooled one unknown.
    """
    reporters: dict[str, list[str]] = {}
    for dataset_id, (_c, cells) in WRITTEN.items():
        for label in cells:
            reporters.setdefault(label, []).append(dataset_id)
    rows = {}
    for label, ids in reporters.items():
        if len(ids) < 2:
            continue
        kept = [d for d in ids if label in released[d]]
        an = sum(WRITTEN[d][1][label][0] for d in kept)
        ac = sum(WRITTEN[d][1][label][1] for d in kept)
        hom: int | None = sum(WRITTEN[d][1][label][2] for d in kept)
        if any(label not in with_hom[d] for d in kept):
            hom = None
        rows[label] = (ac, an, hom, EXACT if len(kept) == len(ids) else ROUNDED)
    return rows


def _rows(
    pooled: list[allele_pb2.PopulationFrequency],
) -> dict[str, tuple[int, int, int | None, int]]:
    return {
        p.population: (
            p.counts.allele_count,
            p.counts.allele_number,
            p.counts.homozygous_count if p.counts.HasField("homozygous_count") else None,
            p.counts.precision,
        )
        for p in pooled
    }


async def test_shared_labels_pool_and_a_withheld_cell_makes_a_lower_bound(tmp_path: Path):
    specs = [
        FlooredSpec(d[:2] + "-1", country, [_index(tmp_path, d)], min_allele_count=MIN_AC.get(d, 0))
        for d, (country, _cells) in WRITTEN.items()
    ]
    variant = allele_pb2.Variant(
        chromosome="1", position=POS, reference_bases="A", alternate_bases="G"
    )
    async with running_mesh(specs) as mesh:
        single = await mesh.allele.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant), timeout=10
        )
        batch = await mesh.allele.BatchLookupVariants(
            allele_service_pb2.BatchLookupVariantsRequest(variants=[variant, variant]), timeout=10
        )
        backend = GrpcBackend(f"127.0.0.1:{mesh.client.gateway.port}")
        try:
            app = create_app(backend)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                body = (await http.get(f"/v1/variants/1-{POS}-A-G")).json()
        finally:
            await backend.close()
    assert len(single.frequencies) == 3
    released = {
        f.dataset_id: {p.population for p in f.populations if p.counts.precision != SUPPRESSED}
        for f in single.frequencies
    }
    assert "NFE" not in released["lu-ds"]  # the floor withheld it (else this shows nothing)
    assert "M" in released["lu-ds"]
    with_hom = {
        f.dataset_id: {p.population for p in f.populations if p.counts.HasField("homozygous_count")}
        for f in single.frequencies
    }
    expected = _expected(released, with_hom)
    assert set(expected) == {"NFE", "M"}  # AFR and F: one dataset only, never pooled
    assert _rows(list(single.pooled_populations)) == expected
    assert [p.population for p in single.pooled_populations] == ["M", "NFE"]
    for result in batch.results:
        assert _rows(list(result.pooled_populations)) == expected
    json_rows = {
        p["population"]: (p["counts"]["allele_count"], p["counts"]["allele_number"])
        for p in body["pooled_populations"]
    }
    assert json_rows == {k: v[:2] for k, v in expected.items()}
