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
from grpc_status import rpc_status

from gateway.http.convert import outcome_json
from gateway.server import RunningGateway, start_gateway
from mesh.channels import open_aio_channel
from mesh.config import GatewayConfig
from mesh.federation import BreakerSettings
from mesh.v1 import allele_service_pb2, allele_service_pb2_grpc
from nodes.server import RunningNode, start_node
from tests.budget_world import (
    LATEST_RETRY_S,
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
    # alice: dense and sparse spent, open and gated (gateways may see it) still answer.
    assert sorted(f.dataset_id for f in spent.frequencies) == ["gated", "open"]
    [outcome] = spent.outcomes
    assert outcome.status.code == 0
    assert dataset_statuses(outcome) == {"dense": RESOURCE_EXHAUSTED, "sparse": RESOURCE_EXHAUSTED}
    # bob, through the same gateway certificate, has his own budget.
    assert sorted(f.dataset_id for f in served.frequencies) == ["dense", "gated", "open", "sparse"]
    assert not served.outcomes[0].datasets
    # The JSON API's outcome object shows the refusals with when to retry.
    shown = outcome_json(outcome)["datasets"]
    assert [d["dataset_id"] for d in shown] == ["dense", "sparse"]
    assert shown[0]["status"]["code_name"] == "RESOURCE_EXHAUSTED"
    assert 3500 < shown[0]["retry_after_s"] <= LATEST_RETRY_S


async def test_budget_refusals_never_open_the_breaker(world):
    alice_channel, alice = world.user("alice")
    bob_channel, bob = world.user("bob")
    named = Lookup(variant=variant(2000), dataset_ids=["dense"])
    async with alice_channel, bob_channel:
        for _ in range(3):
            await alice.LookupVariant(named, timeout=5)
        for _ in range(10):  # named and spent: the node refuses the whole request
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await alice.LookupVariant(named, timeout=5)
            # The node's refusal, passed on: not UNAVAILABLE, not "circuit open".
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "query budget of dataset 'dense' is spent" in caught.value.details()
            delay = retry_delay_s(rpc_status.from_call(caught.value))
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
    from tests.http.conftest import ListenConfig

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
    assert sorted(f["dataset_id"] for f in body["frequencies"]) == ["gated", "open"]
    [outcome] = body["outcomes"]
    assert outcome["status"]["code_name"] == "OK"
    by_id = {d["dataset_id"]: d for d in outcome["datasets"]}
    assert set(by_id) == {"dense", "sparse"}
    assert by_id["dense"]["status"]["code_name"] == "RESOURCE_EXHAUSTED"
    assert 3500 < by_id["dense"]["retry_after_s"] <= LATEST_RETRY_S
    # Named and spent: 429, a problem naming the budget.
    assert named.status_code == 429
    assert "query budget of dataset 'dense' is spent" in named.json()["detail"]
    assert 3500 < named.json()["retry_after_s"] <= LATEST_RETRY_S
    assert 3500 < int(named.headers["Retry-After"]) <= LATEST_RETRY_S
