"""Budgets seen through a gateway: per user, reported per dataset, never a node failure.

Portal users (two operator certificates) ask a real gateway (mTLS), which asks a real
NO node whose ``dense`` and ``sparse`` datasets have a budget of 3 rows per hour
(:mod:`tests.budget_world`). The node charges the user the gateway forwards, not the
gateway; its dataset outcomes reach the gateway's answer and the JSON API's outcome
objects; and budget refusals never open the gateway's circuit breaker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from gateway.http.convert import outcome_json
from gateway.server import RunningGateway, start_gateway
from mesh.config import GatewayConfig
from mesh.federation import BreakerSettings
from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import allele_service_pb2, allele_service_pb2_grpc
from nodes.serve.server import RunningNode, start_node
from tests.budget_world import (
    LATEST_RETRY_S,
    PERMISSION_DENIED,
    RESOURCE_EXHAUSTED,
    Certs,
    budgeted_node,
    build_indexes,
    dataset_statuses,
    peer,
    retry_delay_s,
    rows_of,
    variant,
)
from tests.mesh_harness import fast_settings
from tests.pki_factory import TestPki

pytestmark = pytest.mark.asyncio
Lookup = allele_service_pb2.LookupVariantRequest


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_indexes(tmp_path_factory.mktemp("budget-world"))


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(TestPki.create(tmp_path_factory.mktemp("pki"), countries=("NO", "DE")))


@dataclass
class World:
    node: RunningNode
    gateway: RunningGateway
    certs: Certs

    def user(self, name: str):
        channel = open_aio_channel(
            f"127.0.0.1:{self.gateway.port}", self.certs.tls("DE", "operator", name)
        )
        return channel, allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)


@pytest.fixture
async def world(indexes, certs, tmp_path) -> AsyncIterator[World]:
    node = await start_node(
        budgeted_node(indexes, certs.tls("NO", "node", "no-oslo-1"), tmp_path / "state")
    )
    settings = fast_settings(breaker=BreakerSettings(failure_threshold=3, cooldown_s=30))
    config = GatewayConfig(
        id="eu-gw-1", listen="127.0.0.1:0", tls=certs.tls("DE", "gateway", "eu-gw-1"),
        peers=(peer("no-oslo-1", "NO", node.port, certs.pki),),
    )  # fmt: skip
    gateway = await start_gateway(config, settings=settings)
    try:
        yield World(node, gateway, certs)
    finally:
        await gateway.stop(0)
        await node.stop(0)


async def test_one_users_budget_leaves_another_user_of_the_same_gateway_served(world):
    alice_channel, alice = world.user("alice")
    bob_channel, bob = world.user("bob")
    request = Lookup(variant=variant(2000))
    async with alice_channel, bob_channel:
        for _ in range(3):
            response = await alice.LookupVariant(request, timeout=5)
            assert rows_of(response.frequencies, "dense") == 1
        spent = await alice.LookupVariant(request, timeout=5)
        served = await bob.LookupVariant(request, timeout=5)
    # alice: dense and sparse spent, open still answers; gated is withheld from her (an
    # operator), through the gateway as directly.
    assert sorted(f.dataset_id for f in spent.frequencies) == ["open"]
    [outcome] = spent.outcomes
    assert outcome.status.code == 0
    assert dataset_statuses(outcome) == {
        "dense": RESOURCE_EXHAUSTED, "sparse": RESOURCE_EXHAUSTED, "gated": PERMISSION_DENIED
    }  # fmt: skip
    # bob, through the same gateway certificate, has his own budget.
    assert sorted(f.dataset_id for f in served.frequencies) == ["dense", "open", "sparse"]
    assert dataset_statuses(served.outcomes[0]) == {"gated": PERMISSION_DENIED}
    # The JSON API's outcome object shows the refusals with when to retry.
    shown = {d["dataset_id"]: d for d in outcome_json(outcome)["datasets"]}
    assert set(shown) == {"dense", "sparse", "gated"}
    assert shown["dense"]["status"]["code_name"] == "RESOURCE_EXHAUSTED"
    assert 3500 < shown["dense"]["retry_after_s"] <= LATEST_RETRY_S


async def test_budget_refusals_never_open_the_breaker(world):
    alice_channel, alice = world.user("alice")
    bob_channel, bob = world.user("bob")
    named = Lookup(variant=variant(2000), dataset_ids=["dense"])
    async with alice_channel, bob_channel:
        for _ in range(3):
            await alice.LookupVariant(named, timeout=5)
        for _ in range(10):  # named and spent: answered, the refusal is the dataset's outcome
            refused = await alice.LookupVariant(named, timeout=5)
            [outcome] = refused.outcomes
            assert outcome.status.code == 0  # not a node failure
            assert dataset_statuses(outcome) == {"dense": RESOURCE_EXHAUSTED}
            delay = retry_delay_s(outcome.datasets[0].status)
            assert delay is not None
            assert 3500 < delay <= LATEST_RETRY_S
        breaker = world.gateway.backend.peers[0].breaker
        assert not breaker.is_open
        assert breaker.times_opened == 0
        response = await bob.LookupVariant(named, timeout=5)
    assert rows_of(response.frequencies, "dense") == 1


async def test_the_json_api_shows_dataset_outcomes(world):
    """HTTP /v1 -> gRPC as alice -> gateway -> node: the refusal is in the outcome object."""
    import httpx

    from gateway.http.app import start_http
    from gateway.http.backend import GrpcBackend
    from tests.gateway.http.conftest import ListenConfig

    backend = GrpcBackend(
        f"127.0.0.1:{world.gateway.port}", world.certs.tls("DE", "operator", "alice")
    )
    server = await start_http(backend, ListenConfig())
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            for _ in range(3):
                assert (await http.get("/v1/variants/1-2000-C-T")).status_code == 200
            body = (await http.get("/v1/variants/1-2000-C-T")).json()
            named = await http.get("/v1/variants/1-2000-C-T", params={"dataset": "dense"})
    finally:
        await server.stop()
        await backend.close()
    # gated admits gateways only: alice (an operator) is refused it through the gateway.
    assert sorted(f["dataset_id"] for f in body["frequencies"]) == ["open"]
    [outcome] = body["outcomes"]
    assert outcome["status"]["code_name"] == "OK"
    by_id = {d["dataset_id"]: d for d in outcome["datasets"]}
    assert set(by_id) == {"dense", "sparse", "gated"}
    assert by_id["gated"]["status"]["code_name"] == "PERMISSION_DENIED"
    assert by_id["dense"]["status"]["code_name"] == "RESOURCE_EXHAUSTED"
    assert 3500 < by_id["dense"]["retry_after_s"] <= LATEST_RETRY_S
    # Named and spent: an answer without rows, the refusal in the node's outcome.
    assert named.status_code == 200
    [named_outcome] = named.json()["outcomes"]
    assert [d["dataset_id"] for d in named_outcome["datasets"]] == ["dense"]
    assert (
        "query budget of dataset 'dense' is spent"
        in (named_outcome["datasets"][0]["status"]["message"])
    )


async def test_dataset_outcomes_of_batch_chunks_are_merged_once_per_dataset(world):
    """Two chunks race for 2 rows left: one is cut, the node's outcome says so once."""
    settings = fast_settings(chunk_size=2)
    config = GatewayConfig(
        id="eu-gw-2", listen="127.0.0.1:0", tls=world.certs.tls("DE", "gateway", "eu-gw-2"),
        peers=(peer("no-oslo-1", "NO", world.node.port, world.certs.pki),),
    )  # fmt: skip
    gateway = await start_gateway(config, settings=settings)
    channel = open_aio_channel(
        f"127.0.0.1:{gateway.port}", world.certs.tls("DE", "operator", "alice")
    )
    try:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        named = Lookup(variant=variant(1000), dataset_ids=["dense"])
        assert rows_of((await stub.LookupVariant(named, timeout=5)).frequencies, "dense") == 1
        batch = allele_service_pb2.BatchLookupVariantsRequest(
            variants=[variant(1000), variant(2000), variant(3000)], dataset_ids=["dense"]
        )
        response = await stub.BatchLookupVariants(batch, timeout=5)
    finally:
        await channel.close()
        await gateway.stop(0)
    assert sum(rows_of(r.frequencies, "dense") for r in response.results) == 2
    [outcome] = response.outcomes
    assert outcome.status.code == 0
    assert [(d.dataset_id, d.status.code) for d in outcome.datasets] == [
        ("dense", RESOURCE_EXHAUSTED)
    ]


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.PERMISSION_DENIED]
)
async def test_a_node_refusing_every_call_stays_asked_behind_a_closed_breaker(code):
    """A node that answers every call with a refusal is asked every time: it is reachable."""
    from tests.mesh_harness import peer_of, running_gateway
    from tests.misbehaving_peers import failing_server

    settings = fast_settings(breaker=BreakerSettings(failure_threshold=2, cooldown_s=30))
    async with (
        failing_server(code, "query budget of dataset 'x' is spent") as port,
        running_gateway([peer_of("no-oslo-1", "NO", port)], settings=settings) as gw,
    ):
        for _ in range(10):
            with pytest.raises(grpc.aio.AioRpcError):  # the only node refused: no answer
                await gw.allele.LookupVariant(Lookup(variant=variant(2000)), timeout=5)
        breaker = gw.gateway.backend.peers[0].breaker
        assert breaker.times_opened == 0
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.allele.LookupVariant(Lookup(variant=variant(2000)), timeout=5)
    assert "circuit open" not in caught.value.details()
    assert "query budget of dataset 'x' is spent" in caught.value.details()
