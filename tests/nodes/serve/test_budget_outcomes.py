"""Budgets per origin and dataset, charged by rows returned, reported as dataset outcomes.

A real NO node over mTLS with the datasets of :mod:`tests.budget_world` (``dense`` and
``sparse`` with a budget of 3 rows per hour); callers present generated certificates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.serve.server import RunningNode, start_node
from tests.budget_world import (
    AC,
    LATEST_RETRY_S,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    SPARSE_RSID,
    Certs,
    budgeted_node,
    build_indexes,
    dataset_statuses,
    retry_delay_s,
    rows_of,
    variant,
)
from tests.pki_factory import TestPki

pytestmark = pytest.mark.asyncio
Lookup = allele_service_pb2.LookupVariantRequest


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_indexes(tmp_path_factory.mktemp("budget-world"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(TestPki.create(tmp_path_factory.mktemp("pki"), countries=("NO", "DE")))


@pytest.fixture
async def node(indexes, pki, tmp_path) -> AsyncIterator[RunningNode]:
    tls = pki.tls("NO", "node", "no-oslo-1")
    running = await start_node(budgeted_node(indexes, tls, tmp_path / "state"))
    try:
        yield running
    finally:
        await running.stop(0)


def stub_as(pki: Certs, node: RunningNode, name: str):
    channel = open_aio_channel(f"127.0.0.1:{node.port}", pki.tls("DE", "operator", name))
    return channel, allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)


async def test_unnamed_lookup_charges_only_holders_and_a_spent_budget_is_an_outcome(node, pki):
    channel, stub = stub_as(pki, node, "alice")
    async with channel:
        for _ in range(3):  # 1000 A>G: dense holds it, sparse does not
            response = await stub.LookupVariant(Lookup(variant=variant(1000)), timeout=5)
            assert sorted(f.dataset_id for f in response.frequencies) == ["dense", "open"]
        # dense is spent (3 of 3); sparse was never charged; open has no budget.
        response = await stub.LookupVariant(Lookup(variant=variant(2000)), timeout=5)
    assert sorted(f.dataset_id for f in response.frequencies) == ["open", "sparse"]
    assert response.pooled.allele_count == AC["open"] + AC["sparse"]
    [outcome] = response.outcomes
    assert outcome.status.code == 0
    assert outcome.node_id == "no-oslo-1"
    statuses = dataset_statuses(outcome)
    # gated: withheld from an operator (it was silently left out before).
    assert statuses == {"dense": RESOURCE_EXHAUSTED, "gated": PERMISSION_DENIED}
    dense = next(d for d in outcome.datasets if d.dataset_id == "dense")
    delay = retry_delay_s(dense.status)
    assert delay is not None
    assert 3500 < delay <= LATEST_RETRY_S


async def test_a_spent_budget_is_refused_whether_or_not_the_dataset_holds_the_variant(node, pki):
    channel, stub = stub_as(pki, node, "alice")
    async with channel:
        for _ in range(3):
            await stub.LookupVariant(Lookup(variant=variant(2000)), timeout=5)
        # sparse holds nothing at 3000, yet its refusal must not tell that apart.
        response = await stub.LookupVariant(Lookup(variant=variant(3000)), timeout=5)
    statuses = dataset_statuses(response.outcomes[0])
    assert statuses["sparse"] == RESOURCE_EXHAUSTED
    assert statuses["dense"] == RESOURCE_EXHAUSTED
    assert [f.dataset_id for f in response.frequencies] == ["open"]


async def test_one_users_spent_budget_leaves_another_users_untouched(node, pki):
    alice_channel, alice = stub_as(pki, node, "alice")
    bob_channel, bob = stub_as(pki, node, "bob")
    request = Lookup(variant=variant(2000), dataset_ids=["dense"])
    async with alice_channel, bob_channel:
        for _ in range(3):
            assert rows_of((await alice.LookupVariant(request, timeout=5)).frequencies, "dense")
        # Named and spent: still an answer (never a failed request), the refusal its outcome.
        spent = await alice.LookupVariant(request, timeout=5)
        assert not spent.frequencies
        assert dataset_statuses(spent.outcomes[0]) == {"dense": RESOURCE_EXHAUSTED}
        for _ in range(3):
            assert rows_of((await bob.LookupVariant(request, timeout=5)).frequencies, "dense")


async def test_named_datasets_keep_answering_beside_a_spent_one(node, pki):
    channel, stub = stub_as(pki, node, "alice")
    request = Lookup(variant=variant(2000), dataset_ids=["open", "dense"])
    async with channel:
        for _ in range(3):
            await stub.LookupVariant(request, timeout=5)
        response = await stub.LookupVariant(request, timeout=5)
    assert [f.dataset_id for f in response.frequencies] == ["open"]
    assert dataset_statuses(response.outcomes[0]) == {"dense": RESOURCE_EXHAUSTED}


async def test_batch_charges_each_variant_a_dataset_holds_and_cuts_the_rest(node, pki):
    channel, stub = stub_as(pki, node, "alice")
    batch = allele_service_pb2.BatchLookupVariantsRequest(
        variants=[variant(1000), variant(2000), variant(3000)], dataset_ids=["dense", "sparse"]
    )
    async with channel:
        first = await stub.BatchLookupVariants(batch, timeout=5)
        # dense gave 3 rows (its budget), sparse 1 (of 3): nothing to report yet.
        assert [rows_of(r.frequencies, "dense") for r in first.results] == [1, 1, 1]
        assert [rows_of(r.frequencies, "sparse") for r in first.results] == [0, 1, 0]
        assert not first.outcomes[0].datasets
        second = await stub.BatchLookupVariants(batch, timeout=5)
    assert [rows_of(r.frequencies, "dense") for r in second.results] == [0, 0, 0]
    assert [rows_of(r.frequencies, "sparse") for r in second.results] == [0, 1, 0]
    assert dataset_statuses(second.outcomes[0]) == {"dense": RESOURCE_EXHAUSTED}
    assert second.outcomes[0].frequency_count == 1


async def test_a_region_page_larger_than_the_budget_is_served_and_charged_by_rows(node, pki):
    channel, stub = stub_as(pki, node, "alice")

    def region(end: int) -> allele_service_pb2.SearchRegionRequest:
        return allele_service_pb2.SearchRegionRequest(
            region=allele_pb2.Region(chromosome="1", start=1, end=end),
            dataset_ids=["dense"], page_size=100,
        )  # fmt: skip

    async with channel:
        # A page of 100 against a budget of 3, nothing used yet: served, 2 rows charged.
        first = await stub.SearchRegion(region(2500), timeout=5)
        assert [f.variant.position for f in first.frequencies] == [1000, 2000]
        assert not first.outcomes[0].datasets
        # 1 row left: the page gets it and says the dataset was cut short.
        second = await stub.SearchRegion(region(3500), timeout=5)
        assert [f.variant.position for f in second.frequencies] == [1000]
        [cut] = second.outcomes[0].datasets
        assert (cut.dataset_id, cut.status.code) == ("dense", RESOURCE_EXHAUSTED)
        assert "1 of its rows were served" in cut.status.message
        spent = await stub.SearchRegion(region(3500), timeout=5)
    assert not spent.frequencies
    assert not spent.next_page_token
    assert dataset_statuses(spent.outcomes[0]) == {"dense": RESOURCE_EXHAUSTED}


async def test_region_rows_of_open_datasets_flow_past_a_spent_budget(node, pki):
    channel, stub = stub_as(pki, node, "alice")
    request = allele_service_pb2.SearchRegionRequest(
        region=allele_pb2.Region(chromosome="1", start=1, end=5000), page_size=2
    )
    async with channel:
        pages = []
        page = await stub.SearchRegion(request, timeout=5)
        pages.append(page)
        while page.next_page_token:
            request.page_token = page.next_page_token
            page = await stub.SearchRegion(request, timeout=5)
            pages.append(page)
            assert len(pages) < 20
    served = [(f.dataset_id, f.variant.position) for p in pages for f in p.frequencies]
    assert [pos for ds, pos in served if ds == "open"] == [1000, 2000, 3000]
    assert len([1 for ds, _ in served if ds == "dense"]) == 3  # its budget, no more
    refused = [dataset_statuses(p.outcomes[0]).get("dense") for p in pages]
    assert RESOURCE_EXHAUSTED in refused


async def test_open_datasets_never_touch_the_ledger(node, pki):
    channel, stub = stub_as(pki, node, "alice")
    calls = []
    ledger = node.lookup.budgets
    assert ledger is not None
    original = ledger.take

    def counted(origin, asks):
        calls.append(asks)
        return original(origin, asks)

    ledger.take = counted  # type: ignore[method-assign]
    async with channel:
        await stub.LookupVariant(Lookup(variant=variant(1000), dataset_ids=["open"]), timeout=5)
        await stub.BatchLookupVariants(
            allele_service_pb2.BatchLookupVariantsRequest(
                variants=[variant(1000)], dataset_ids=["open"]
            ),
            timeout=5,
        )
        assert calls == []
        await stub.LookupVariant(Lookup(variant=variant(1000), dataset_ids=["dense"]), timeout=5)
    assert len(calls) == 1


async def test_allelemesh_query_lists_the_dataset_outcomes(node, pki):
    import asyncio
    import os
    import sys

    from tests.mesh_harness import REPO

    channel, stub = stub_as(pki, node, "alice")
    async with channel:
        for _ in range(3):
            await stub.LookupVariant(Lookup(variant=variant(2000)), timeout=5)
    tls = pki.tls("DE", "operator", "alice")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh", "query", "1-2000-C-T", "--target",
        f"127.0.0.1:{node.port}", "--ca", str(tls.ca[0]), "--cert", str(tls.cert),
        "--key", str(tls.key), cwd=REPO, env={**os.environ, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    dense = [line for line in lines if "dataset dense" in line]
    gated = [line for line in lines if "dataset gated" in line]
    assert len(dense) == 1
    assert "RESOURCE_EXHAUSTED" in dense[0]
    assert len(gated) == 1
    assert "PERMISSION_DENIED" in gated[0]


async def test_resolving_an_rsid_is_charged_and_a_spent_budget_names_nothing(node, pki):
    """Only ``sparse`` records rs2000: naming its variant costs a row like showing it."""
    by_id = allele_service_pb2.LookupVariantIdRequest(variant_id=SPARSE_RSID, variants_only=True)
    channel, stub = stub_as(pki, node, "bob")
    async with channel:
        first = await stub.LookupVariantId(by_id, timeout=5)
        assert [(r.variant.position, r.variant.alternate_bases) for r in first.results] == [
            (2000, "T")
        ]
        for _ in range(2):  # sparse: 1 (the resolution) + 2 = its 3 rows
            await stub.LookupVariant(Lookup(variant=variant(2000)), timeout=5)
        spent = await stub.LookupVariantId(by_id, timeout=5)
    assert list(spent.results) == []
    [outcome] = spent.outcomes
    assert dataset_statuses(outcome)["sparse"] == RESOURCE_EXHAUSTED
