"""A node serves each dataset's metadata in its catalogue, and picks up ``--set-from``."""

from __future__ import annotations

import asyncio
import random

import grpc

from mesh.cli import main
from mesh.config import DatasetConfig, NodeConfig
from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    catalog_service_pb2,
    catalog_service_pb2_grpc,
)
from nodes.serve.server import start_node
from tests.gateway.fdp.harness import SAMPLE, build, sample, write_metadata
from tests.mesh_harness import expected_totals, random_sites


async def test_the_catalogue_carries_the_metadata_and_a_new_version_is_served(tmp_path):
    sites = random_sites(random.Random(5), 10)
    index = build(tmp_path, "no-live", metadata=SAMPLE, records=sites)
    config = NodeConfig(
        id="no-1",
        country="NO",
        listen="127.0.0.1:0",
        datasets=(DatasetConfig("no-live", index),),
        reload_interval_s=0.1,
    )
    node = await start_node(config, insecure=True)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{node.port}") as channel:
            catalog = catalog_service_pb2_grpc.CatalogServiceStub(channel)
            alleles = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            listed = await catalog.ListDatasets(catalog_service_pb2.ListDatasetsRequest())
            (dataset,) = listed.datasets
            meta = dataset.metadata
            assert [(t.language, t.text) for t in meta.title] == [
                ("en", "Allele frequencies of no-live (GRCh38)")
            ]
            assert meta.identifier.startswith("GDI-NO-ALLELEMESH-")
            assert meta.access_rights.endswith("/access-right/PUBLIC")
            assert meta.publisher.contact_point.email == "data@allelemesh.example"
            assert meta.temporal_start == "2020-01-01"
            assert dataset.variant_count == len(expected_totals(sites))

            data = sample()
            data["title"] = "Second title"
            changed = write_metadata(tmp_path / "changed.toml", data)
            assert main(["index", "metadata", str(index), "--set-from", str(changed)]) == 0
            for _ in range(100):  # the node polls every 0.1 s
                got = await catalog.GetDataset(
                    catalog_service_pb2.GetDatasetRequest(dataset_id="no-live")
                )
                if [t.text for t in got.metadata.title] == ["Second title"]:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the node never served the new metadata")
            assert got.metadata.modified_time.ToDatetime() > dataset.created_time.ToDatetime()
            # Same data (hard-linked): every variant still answers with its counts.
            expected = expected_totals(sites)
            for (chrom, pos, ref, alt), counts in expected.items():
                answer = await alleles.LookupVariant(
                    allele_service_pb2.LookupVariantRequest(
                        assembly=allele_pb2.ASSEMBLY_GRCH38,
                        variant=allele_pb2.Variant(
                            chromosome=chrom,
                            position=pos,
                            reference_bases=ref,
                            alternate_bases=alt,
                        ),
                    )
                )
                (frequency,) = answer.frequencies
                assert frequency.counts.allele_count == counts[0]
                assert frequency.counts.allele_number == counts[1]
    finally:
        await node.stop(0)
