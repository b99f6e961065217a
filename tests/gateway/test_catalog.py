"""The mesh catalogue and routing by dataset id and assembly."""

from __future__ import annotations

import random

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from tests.gateway.conftest import Country
from tests.mesh_harness import CallCounter, NodeSpec, random_sites, running_mesh, write_dataset


@pytest.fixture(scope="module")
def grch37_index(tmp_path_factory):
    records = random_sites(random.Random(11), 20)
    return write_dataset(tmp_path_factory.mktemp("gb"), "gb-37", records, assembly="GRCh37")


def specs(countries: list[Country], grch37_index) -> list[NodeSpec]:
    return [*(c.spec() for c in countries), NodeSpec("gb-ldn", "GB", [grch37_index])]


def a_variant(countries: list[Country], dataset_id: str) -> allele_pb2.Variant:
    for c in countries:
        if dataset_id in c.expected:
            chrom, pos, ref, alt = sorted(c.expected[dataset_id])[0]
            return allele_pb2.Variant(
                chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
            )
    raise KeyError(dataset_id)


async def test_list_datasets_is_the_whole_mesh_and_pages(countries, grch37_index):
    async with running_mesh(specs(countries, grch37_index)) as mesh:
        response = await mesh.catalog.ListDatasets(
            catalog_service_pb2.ListDatasetsRequest(), timeout=5
        )
        assert [(d.id, d.node_id, d.country) for d in response.datasets] == [
            ("no-a", "no-oslo", "NO"), ("no-b", "no-oslo", "NO"), ("fi-a", "fi-hki", "FI"),
            ("lu-a", "lu-lux", "LU"), ("gb-37", "gb-ldn", "GB"),
        ]  # fmt: skip
        assert [o.frequency_count for o in response.outcomes] == [2, 1, 1, 1]
        grch37 = await mesh.catalog.ListDatasets(
            catalog_service_pb2.ListDatasetsRequest(assembly=allele_pb2.ASSEMBLY_GRCH37), timeout=5
        )
        assert [d.id for d in grch37.datasets] == ["gb-37"]
        ids, token = [], ""
        for _ in range(10):
            page = await mesh.catalog.ListDatasets(
                catalog_service_pb2.ListDatasetsRequest(page_size=2, page_token=token), timeout=5
            )
            ids += [d.id for d in page.datasets]
            token = page.next_page_token
            if not token:
                break
        assert ids == ["no-a", "no-b", "fi-a", "lu-a", "gb-37"]


async def test_dataset_ids_route_only_to_their_nodes(countries, grch37_index):
    async with running_mesh(specs(countries, grch37_index)) as mesh:
        counters = {node_id: CallCounter(node) for node_id, node in mesh.nodes.items()}
        request = allele_service_pb2.LookupVariantRequest(
            variant=a_variant(countries, "fi-a"), dataset_ids=["fi-a", "no-b"]
        )
        response = await mesh.allele.LookupVariant(request, timeout=5)
    assert [o.node_id for o in response.outcomes] == ["no-oslo", "fi-hki"]
    assert {f.dataset_id for f in response.frequencies} <= {"fi-a", "no-b"}
    assert "fi-a" in {f.dataset_id for f in response.frequencies}
    assert {k: sum(c.calls.values()) for k, c in counters.items()} == {
        "no-oslo": 1, "fi-hki": 1, "lu-lux": 0, "gb-ldn": 0
    }  # fmt: skip


async def test_assembly_routes_only_to_nodes_with_that_assembly(countries, grch37_index):
    async with running_mesh(specs(countries, grch37_index)) as mesh:
        counters = {node_id: CallCounter(node) for node_id, node in mesh.nodes.items()}
        request = allele_service_pb2.LookupVariantRequest(
            assembly=allele_pb2.ASSEMBLY_GRCH37, variant=a_variant(countries, "fi-a")
        )
        response = await mesh.allele.LookupVariant(request, timeout=5)
        assert [o.node_id for o in response.outcomes] == ["gb-ldn"]
        request.assembly = allele_pb2.ASSEMBLY_GRCH38
        response = await mesh.allele.LookupVariant(request, timeout=5)
        assert [o.node_id for o in response.outcomes] == ["no-oslo", "fi-hki", "lu-lux"]
    assert counters["gb-ldn"].calls == {"lookup_variant": 1}


async def test_unknown_dataset_is_not_found_naming_it(countries, grch37_index):
    async with running_mesh(specs(countries, grch37_index)) as mesh:
        request = allele_service_pb2.LookupVariantRequest(
            variant=a_variant(countries, "fi-a"), dataset_ids=["fi-a", "nope-1"]
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await mesh.allele.LookupVariant(request, timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert "nope-1" in caught.value.details()
        info = error_details_pb2.ErrorInfo()
        assert any(d.Unpack(info) for d in rpc_status.from_call(caught.value).details)
        assert info.metadata["dataset_ids"] == "nope-1"


async def test_get_dataset_asks_the_owner(countries, grch37_index):
    async with running_mesh(specs(countries, grch37_index)) as mesh:
        dataset = await mesh.catalog.GetDataset(
            catalog_service_pb2.GetDatasetRequest(dataset_id="lu-a"), timeout=5
        )
        assert (dataset.id, dataset.node_id, dataset.country) == ("lu-a", "lu-lux", "LU")
        assert dataset.variant_count == len(countries[2].expected["lu-a"])
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await mesh.catalog.GetDataset(
                catalog_service_pb2.GetDatasetRequest(dataset_id="nope-1"), timeout=5
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
