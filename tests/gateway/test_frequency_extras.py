"""gnomAD's grpmax/faf95 served through a real node and gateway, gRPC and JSON.

Two countries serve the same gnomAD v4.1-style index (tests.nodes.build's writer):
one with no disclosure rules, whose answers carry each allele's extras as written;
one with an allele floor above every count in the file, which withholds the counts,
so the extras (derived from them) must be withheld too (mesh.disclosure.release_extras).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest

from gateway.http.app import create_app
from gateway.http.backend import GrpcBackend
from mesh.config import NodeConfig
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.build.builder import BuildOptions, build_index
from tests.gateway.http import beacon_schemas
from tests.mesh_harness import NodeSpec, running_mesh
from tests.nodes.build.test_builder_gnomad_extras import _write

#: Above every AN the writer draws (at most 8,000): every count is under it.
FLOOR = 10**5


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


async def test_extras_go_with_exact_counts_and_are_withheld_with_them(tmp_path: Path) -> None:
    vcf, want = _write(tmp_path, extras=True)
    open_index, floored_index = tmp_path / "open", tmp_path / "floored"
    build_index(BuildOptions([vcf], "gnomad-open", open_index, progress=False))
    build_index(BuildOptions([vcf], "gnomad-floored", floored_index, progress=False))
    specs = [
        FlooredSpec("se-1", "SE", [open_index]),
        FlooredSpec("fi-1", "FI", [floored_index], min_allele_count=FLOOR),
    ]
    (pos, ref, alt), sets = next(iter(want.items()))
    expected = sets["joint"]
    variant = allele_pb2.Variant(
        chromosome="1", position=pos, reference_bases=ref, alternate_bases=alt
    )
    async with running_mesh(specs) as mesh:
        single = await mesh.allele.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant), timeout=10
        )
        backend = GrpcBackend(f"127.0.0.1:{mesh.client.gateway.port}")
        try:
            transport = httpx.ASGITransport(app=create_app(backend))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                body = (await http.get(f"/v1/variants/1-{pos}-{ref}-{alt}")).json()
                params = {
                    "referenceName": "1",
                    "start": str(pos - 1),
                    "referenceBases": ref,
                    "alternateBases": alt,
                    "requestedGranularity": "record",
                }
                beacon = (await http.get("/api/g_variants", params=params)).json()
        finally:
            await backend.close()
    rows = {f.dataset_id: f for f in single.frequencies}
    assert set(rows) == {"gnomad-open", "gnomad-floored"}
    served = rows["gnomad-open"].extras
    assert served.grpmax_group == expected["grpmax_group"]
    assert served.grpmax_allele_count == expected["grpmax_allele_count"]
    assert served.faf95_max == pytest.approx(expected["faf95_max"])
    assert dict(served.faf95) == pytest.approx(expected["faf95"])
    floored = rows["gnomad-floored"]
    assert floored.counts.precision == allele_pb2.COUNT_PRECISION_SUPPRESSED
    assert not floored.HasField("extras")
    by_id = {f["dataset_id"]: f for f in body["frequencies"]}
    extras = by_id["gnomad-open"]["extras"]
    assert extras["grpmax_group"] == expected["grpmax_group"]
    assert extras["grpmax_allele_number"] == expected["grpmax_allele_number"]
    assert extras["faf95_max_group"] == expected["faf95_max_group"]
    assert extras["faf95"] == pytest.approx(expected["faf95"])
    assert by_id["gnomad-floored"]["extras"] is None
    # Beacon: on the frequencyInPopulations entry (the schema allows more properties).
    beacon_schemas.assert_g_variants_valid(beacon)
    records = {
        r["info"]["datasetId"]: r
        for result_set in beacon["response"]["resultSets"]
        for r in result_set["results"]
    }
    (entry,) = records["gnomad-open"]["frequencyInPopulations"]
    assert entry["extras"]["grpmaxGroup"] == expected["grpmax_group"]
    assert entry["extras"]["grpmaxAlleleCount"] == expected["grpmax_allele_count"]
    assert entry["extras"]["faf95MaxGroup"] == expected["faf95_max_group"]
    assert entry["extras"]["faf95"]["Total"] == pytest.approx(expected["faf95"][""])
    assert "extras" not in str(records.get("gnomad-floored", {}))
