"""The gateway's mesh-wide floor holds over nodes whose own floors are weaker.

Two real nodes (LU without floors, FI with ``min_allele_count = 3``) behind a real
gateway with ``[gateway] min_individuals = 5`` (allele floor 9). Every frequency the
gateway answers is judged against the rows its VCF was made from with the mesh floor;
pooled counts are sums of the released dataset rows only, marked ROUNDED (a lower
bound) whenever a dataset's counts were withheld.
"""

from __future__ import annotations

import random
from pathlib import Path

import grpc
import pytest

from gateway.server import start_gateway
from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import start_node
from tests.disclosure_data import LABELS, PARTITIONS, make_records
from tests.disclosure_oracle import ReleaseJudge
from tests.vcf_factory import write_sites_vcf

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
MESH_FLOOR = 5  # individuals: 9 alleles


def build(root: Path, dataset_id: str, records) -> Path:
    vcf = write_sites_vcf(root / f"{dataset_id}.vcf", records, LABELS, style="gdi", bgzip=True)
    out = root / dataset_id
    build_index(BuildOptions(inputs=[vcf], dataset_id=dataset_id, out=out, progress=False))
    return out


def node_config(node_id: str, country: str, dataset: DatasetConfig) -> NodeConfig:
    return NodeConfig(
        id=node_id, country=country, listen="127.0.0.1:0", reload_interval_s=0, datasets=(dataset,)
    )


def variant_message(v) -> allele_pb2.Variant:
    return allele_pb2.Variant(chromosome=v[0], position=v[1], reference_bases=v[2],
                              alternate_bases=v[3])  # fmt: skip


def judge(raw, frequency: allele_pb2.VariantFrequency) -> None:
    released = {"Total": frequency.counts}
    released.update({p.population: p.counts for p in frequency.populations})
    ReleaseJudge(
        raw, released, PARTITIONS, allele_floor=2 * MESH_FLOOR - 1, individual_floor=MESH_FLOOR
    ).check()


async def test_the_weakest_node_does_not_set_the_floor(tmp_path: Path):
    # the same positions in both datasets, so that pooling has two parts
    lu_records, lu_raw = make_records(random.Random(1), 30)
    fi_records, fi_raw = make_records(random.Random(2), 30)
    for lu, fi in zip(lu_records, fi_records, strict=True):
        fi.ref, fi.alts = lu.ref, lu.alts
    fi_raw = dict(zip(lu_raw, fi_raw.values(), strict=True))
    lu_index = build(tmp_path, "lu-open", lu_records)
    fi_index = build(tmp_path, "fi-weak", fi_records)
    lu = await start_node(
        node_config("lu-1", "LU", DatasetConfig("lu-open", lu_index)), insecure=True
    )
    fi = await start_node(
        node_config("fi-1", "FI", DatasetConfig("fi-weak", fi_index, min_allele_count=3)),
        insecure=True,
    )
    gateway = await start_gateway(
        GatewayConfig(
            id="gw-1",
            listen="127.0.0.1:0",
            min_individuals=MESH_FLOOR,
            peers=(
                PeerConfig("lu-1", "LU", (f"127.0.0.1:{lu.port}",)),
                PeerConfig("fi-1", "FI", (f"127.0.0.1:{fi.port}",)),
            ),
        ),
        insecure=True,
    )
    raws = {"lu-open": lu_raw, "fi-weak": fi_raw}
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            lower_bounds = 0
            for v in lu_raw:
                answer = await stub.LookupVariant(
                    allele_service_pb2.LookupVariantRequest(variant=variant_message(v))
                )
                assert {f.dataset_id for f in answer.frequencies} == set(raws)
                for frequency in answer.frequencies:
                    judge(raws[frequency.dataset_id][v], frequency)
                released = [
                    f.counts for f in answer.frequencies if f.counts.precision != SUPPRESSED
                ]
                pooled = answer.pooled
                assert pooled.allele_count == sum(c.allele_count for c in released)
                assert pooled.allele_number == sum(c.allele_number for c in released)
                if any(not c.HasField("homozygous_count") for c in released):
                    assert not pooled.HasField("homozygous_count")  # a part withheld: unknown
                if len(released) < 2:
                    lower_bounds += 1
                    assert pooled.precision == (ROUNDED if released else SUPPRESSED)
                else:
                    assert pooled.precision == EXACT
            assert lower_bounds > 0, "some dataset should be withheld by the mesh floor"

            batch = await stub.BatchLookupVariants(
                allele_service_pb2.BatchLookupVariantsRequest(
                    variants=[variant_message(v) for v in lu_raw]
                )
            )
            for v, result in zip(lu_raw, batch.results, strict=True):
                for frequency in result.frequencies:
                    judge(raws[frequency.dataset_id][v], frequency)

            page = await stub.SearchRegion(
                allele_service_pb2.SearchRegionRequest(
                    region=allele_pb2.Region(chromosome="1", start=1, end=10_000_000),
                    page_size=100,
                )
            )
            by_position = {v[1]: v for v in lu_raw}
            assert len(page.frequencies) == 2 * len(lu_raw)
            for frequency in page.frequencies:
                judge(
                    raws[frequency.dataset_id][by_position[frequency.variant.position]], frequency
                )
    finally:
        await gateway.stop(grace=1.0)
        await fi.stop(0)
        await lu.stop(0)


def test_gateway_min_individuals_is_read_and_checked(tmp_path: Path):
    from mesh.config import load_gateway_config
    from mesh.errors import ConfigError

    path = tmp_path / "gateway.toml"
    body = '[[peers]]\nid = "lu-1"\ncountry = "LU"\naddress = "127.0.0.1:1"\n'
    path.write_text('[gateway]\nid = "gw"\nlisten = "127.0.0.1:0"\nmin_individuals = 5\n' + body)
    assert load_gateway_config(path).min_individuals == 5
    path.write_text('[gateway]\nid = "gw"\nlisten = "127.0.0.1:0"\nmin_individuals = -1\n' + body)
    with pytest.raises(ConfigError, match="min_individuals"):
        load_gateway_config(path)
