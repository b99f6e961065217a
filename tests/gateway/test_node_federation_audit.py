"""A node's audit record of a mesh-wide answer counts what left: frequency rows, one meaning.

The same ``results`` as its span's ``mesh.result.count`` and as a local answer's: for a
batch, the frequencies over all its results, not the number of variants asked.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import grpc

from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.serve.server import start_node
from tests.gateway.conftest import Country
from tests.mesh_harness import NodeSpec, peer_of, running_nodes


def _variant(chrom: str, pos: int, ref: str, alt: str) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
    )


async def test_a_mesh_batch_is_audited_with_its_frequency_count(
    countries: list[Country], tmp_path: Path
) -> None:
    fi, others = countries[1], [countries[0], countries[2]]
    datasets = [d for c in countries for d in c.expected.values()]
    every = sorted({v for d in datasets for v in d})
    held = sorted(every, key=lambda v: -sum(v in d for d in datasets))[:3]  # the most shared
    absent = ("1", 999_999, "A", "T")
    asked = [*held, absent]
    expected = sum(v in d for v in asked for d in datasets)
    assert expected > len(asked)  # the two meanings differ for this batch
    audit = tmp_path / "fi.jsonl"
    async with running_nodes([c.spec() for c in others]) as peers:
        spec = NodeSpec(
            fi.node_id,
            fi.country,
            fi.indexes,
            peers=[peer_of(c.node_id, c.country, peers[c.node_id].port) for c in others],
        )
        node = await start_node(replace(spec.config(), audit_path=audit), insecure=True)
        try:
            await node.mesh.catalog.refresh()  # type: ignore[union-attr]
            async with grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
                stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
                response = await stub.BatchLookupVariants(
                    allele_service_pb2.BatchLookupVariantsRequest(
                        variants=[_variant(*v) for v in asked], scope=allele_pb2.SCOPE_MESH
                    ),
                    timeout=10,
                )
        finally:
            await node.stop(0)
    assert sum(len(r.frequencies) for r in response.results) == expected
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    batch = [r for r in records if r["method"] == "BatchLookupVariants"]
    assert [r["results"] for r in batch] == [expected]
