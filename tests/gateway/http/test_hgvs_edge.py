"""HGVS genomic indels at the HTTP edge: the gateway's ``[references]`` FASTA translates
them; the node behind it has none, so only a correct, left-aligned key finds the data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pysam
import pytest

from gateway.http.app import start_http
from gateway.http.backend import GrpcBackend
from mesh.errors import ConfigError
from mesh.model.genome import Assembly
from nodes.build.builder import BuildOptions, build_index
from tests.mesh.model.test_hgvs import SEQ, by_hand
from tests.mesh_harness import NodeSpec, running_nodes
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

DELETION = "NC_000001.11:g.110_112del"  # one CAG of CAGCAGCAGCAG, 3'-most as HGVS puts it


@dataclass(frozen=True)
class EdgeConfig:
    """What start_http reads from gateway.toml, with ``[references]``."""

    http_listen: str = "127.0.0.1:0"
    tls: None = None
    references: dict[Assembly, Path] = field(default_factory=dict)


@pytest.fixture
def fasta(tmp_path: Path) -> Path:
    path = tmp_path / "ref.fa"
    path.write_text(">chr1\n" + SEQ + "\n")
    pysam.faidx(str(path))
    return path


@pytest.fixture
async def backend(tmp_path: Path, fasta: Path) -> AsyncIterator[GrpcBackend]:
    # The record as a VCF writer placed it (not left-aligned); the builder aligns it.
    pos, ref, alt = by_hand("del", 110, 112, "")
    record = SiteRecord("1", pos, ref, [alt], GroupCounts(an=1000, ac=[7], hom=[1]))
    vcf = write_sites_vcf(tmp_path / "ds.vcf", [record], bgzip=True, contigs=["1"])
    index = tmp_path / "no-ds"
    build_index(BuildOptions([vcf], "no-ds", index, reference=fasta, progress=False))
    async with running_nodes([NodeSpec("no-1", "NO", [index])]) as nodes:
        grpc_backend = GrpcBackend(f"127.0.0.1:{nodes['no-1'].port}")
        yield grpc_backend
        await grpc_backend.close()


async def test_deletion_found_through_the_gateway_reference(backend: GrpcBackend, fasta: Path):
    server = await start_http(backend, EdgeConfig(references={Assembly.GRCH38: fasta}))
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            body = (await http.get(f"/v1/variants/{DELETION}")).json()
            beacon = await http.get("/api/g_variants", params={"genomicAlleleShortForm": DELETION})
    finally:
        await server.stop()
    assert [f["counts"]["allele_count"] for f in body["frequencies"]] == [7], body
    assert body["variant"]["position"] < 109  # left-aligned past the HGVS placement
    assert beacon.status_code == 200, beacon.text
    assert beacon.json()["responseSummary"]["exists"] is True


async def test_without_a_reference_the_edge_says_so(backend: GrpcBackend):
    server = await start_http(backend, EdgeConfig())
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            deletion = await http.get(f"/v1/variants/{DELETION}")
            coding = await http.get("/v1/variants/NM_000546.6:c.215C>G")
    finally:
        await server.stop()
    assert deletion.status_code == 400
    assert deletion.json()["field"] == "variant"
    assert "no reference FASTA is configured for GRCh38" in deletion.json()["detail"]
    assert coding.status_code == 400
    assert "transcript data" in coding.json()["detail"]


async def test_an_unreadable_reference_is_a_config_error(backend: GrpcBackend, tmp_path: Path):
    bad = tmp_path / "bad.fa"
    bad.write_text("not a fasta\n")
    with pytest.raises(ConfigError, match=r"\[references\]"):
        await start_http(backend, EdgeConfig(references={Assembly.GRCH38: bad}))
