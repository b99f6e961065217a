"""A node pools its own datasets by the one pooling rule (:mod:`mesh.federation` pooling).

A real node over two real indexes that hold one variant: an AF-only dataset (GDI's
writer) and a counted one. The node's pooled row, on the fast path and the slow one
(a population filter), single and batch, must be what ``pool_counts`` makes of the
rows it returned: the AF-only part skipped and said (``ROUNDED``), not making the
counted dataset's sum unknown.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from mesh.federation import pool_counts
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.build.builder import BuildOptions, build_index
from tests.mesh_harness import NodeSpec, running_nodes

AF = '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">'
AC = '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">'
AN = '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">'
VARIANT = allele_pb2.Variant(
    chromosome="21", position=10_000_100, reference_bases="G", alternate_bases="A"
)


def _index(tmp_path: Path, dataset_id: str, info: str, *fields: str) -> Path:
    header = ["##fileformat=VCFv4.2", "##contig=<ID=21,length=46709983>", *fields]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    vcf = tmp_path / f"{dataset_id}.vcf"
    vcf.write_text("\n".join([*header, f"21\t10000100\t.\tG\tA\t.\tPASS\t{info}"]) + "\n")
    out = tmp_path / dataset_id
    build_index(BuildOptions(inputs=[vcf], dataset_id=dataset_id, out=out))
    return out


@pytest.mark.parametrize("populations", [[], ["Total"]], ids=["fast", "filtered"])
async def test_an_af_only_dataset_is_skipped_in_the_node_pool(
    tmp_path: Path, populations: list[str]
) -> None:
    indexes = [
        _index(tmp_path, "af-only", "AF=0.25", AF),
        _index(tmp_path, "counted", "AC=3;AN=40", AC, AN),
    ]
    async with running_nodes([NodeSpec("no-1", "NO", indexes)]) as nodes:
        port = nodes["no-1"].port
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            one = await stub.LookupVariant(
                allele_service_pb2.LookupVariantRequest(variant=VARIANT, populations=populations),
                timeout=10,
            )
            batch = await stub.BatchLookupVariants(
                allele_service_pb2.BatchLookupVariantsRequest(
                    variants=[VARIANT], populations=populations
                ),
                timeout=10,
            )
    assert sorted(f.dataset_id for f in one.frequencies) == ["af-only", "counted"]
    expected = pool_counts(f.counts for f in one.frequencies)
    assert (expected.allele_count, expected.allele_number) == (3, 40)  # the rule, by hand
    assert expected.precision == allele_pb2.COUNT_PRECISION_ROUNDED
    assert one.pooled == expected
    assert batch.results[0].pooled == expected
