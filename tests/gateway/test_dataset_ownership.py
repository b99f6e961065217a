"""Dataset ids belong to one node: a peer announcing another's id is not asked or pooled for it.

NO holds ``no-a`` (AC 12 of 1000); FI holds ``fi-a`` (AC 3) and also announces a ``no-a``
of its own (AC 999). On main the gateway asked both for ``no-a`` and pooled 12 + 999.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2

from mesh.tracing._metrics import render
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from tests.mesh_harness import (
    CallCounter,
    NodeSpec,
    fast_settings,
    peer_of,
    running_gateway,
    running_nodes,
    write_dataset,
)
from tests.vcf_factory import GroupCounts, SiteRecord

VARIANT = allele_pb2.Variant(
    chromosome="1", position=2000, reference_bases="C", alternate_bases="T"
)


def one_site(root: Path, node: str, dataset_id: str, allele_count: int) -> Path:
    record = SiteRecord("1", 2000, "C", ["T"], GroupCounts(1000, [allele_count], [0]))
    return write_dataset(root / node, dataset_id, [record])


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> list[NodeSpec]:
    root = tmp_path_factory.mktemp("ownership")
    return [
        NodeSpec("no-oslo", "NO", [one_site(root, "no", "no-a", 12)]),
        NodeSpec("fi-hki", "FI", [one_site(root, "fi", "fi-a", 3),
                                  one_site(root, "fi", "no-a", 999)]),
    ]  # fmt: skip


def reason(status: object) -> str:
    for detail in status.details:  # type: ignore[attr-defined]
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


async def lookup(client: object, *dataset_ids: str) -> allele_service_pb2.LookupVariantResponse:
    request = allele_service_pb2.LookupVariantRequest(variant=VARIANT, dataset_ids=dataset_ids)
    return await client.allele.LookupVariant(request, timeout=5)  # type: ignore[attr-defined, no-any-return]


async def test_a_shadowing_peer_is_refused_and_reported(specs: list[NodeSpec]) -> None:
    async with running_nodes(specs) as nodes:
        fi_calls = CallCounter(nodes["fi-hki"])
        peers = [peer_of(s.id, s.country, nodes[s.id].port) for s in specs]
        async with running_gateway(peers, settings=fast_settings()) as client:
            named = await lookup(client, "no-a")
            assert fi_calls.calls["lookup_variant"] == 0  # not asked for an id not its own
            everything = await lookup(client)
            listed = await client.catalog.ListDatasets(
                catalog_service_pb2.ListDatasetsRequest(), timeout=5
            )
            telemetry = client.gateway.telemetry
            assert telemetry is not None
            metrics = render(telemetry.registry).decode()

    # Named: only the owner's rows; FI was not asked, and its outcome says why.
    assert [(f.node_id, f.counts.allele_count) for f in named.frequencies] == [("no-oslo", 12)]
    assert named.pooled.allele_count == 12
    outcomes = {o.node_id: o for o in named.outcomes}
    refused = outcomes["fi-hki"]
    assert refused.status.code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    assert "no-oslo" in refused.status.message
    assert "fi-hki" in refused.status.message
    [shadowed] = refused.datasets
    assert shadowed.dataset_id == "no-a"
    assert reason(shadowed.status) == "DATASET_ID_SHADOWED"

    # Unnamed: FI answers for its own dataset only, its claim reported beside it.
    rows = sorted((f.node_id, f.dataset_id, f.counts.allele_count) for f in everything.frequencies)
    assert rows == [("fi-hki", "fi-a", 3), ("no-oslo", "no-a", 12)]
    assert everything.pooled.allele_count == 15
    fi = {o.node_id: o for o in everything.outcomes}["fi-hki"]
    assert fi.status.code == 0
    assert [d.dataset_id for d in fi.datasets] == ["no-a"]

    # The catalogue lists the id once, as the owner's.
    assert sorted((d.id, d.node_id) for d in listed.datasets) == [
        ("fi-a", "fi-hki"),
        ("no-a", "no-oslo"),
    ]
    assert 'mesh_catalog_shadowed_datasets{mesh_peer_id="fi-hki"} 1.0' in metrics
    assert 'mesh_catalog_shadowed_datasets{mesh_peer_id="no-oslo"} 0.0' in metrics


async def test_the_owner_keeps_its_id_whatever_the_claimant_says_later(
    specs: list[NodeSpec],
) -> None:
    """``first``: bound for the life of the process, in configuration order within a round."""
    async with running_nodes(specs) as nodes:
        peers = [peer_of(s.id, s.country, nodes[s.id].port) for s in specs]
        async with running_gateway(peers, settings=fast_settings()) as client:
            backend = client.gateway.backend
            await backend.catalog.refresh()
            await backend.catalog.refresh()
            response = await lookup(client, "no-a")
    assert [f.node_id for f in response.frequencies] == ["no-oslo"]


async def test_country_prefix_ownership(specs: list[NodeSpec]) -> None:
    """With ``country-prefix``, FI cannot own ``no-a`` even when it is listed first."""
    settings = fast_settings(dataset_ownership="country-prefix")
    async with running_nodes(specs) as nodes:
        peers = [peer_of(s.id, s.country, nodes[s.id].port) for s in reversed(specs)]
        async with running_gateway(peers, settings=settings) as client:
            response = await lookup(client, "no-a")
    assert [(f.node_id, f.counts.allele_count) for f in response.frequencies] == [("no-oslo", 12)]
    refused = {o.node_id: o for o in response.outcomes}["fi-hki"]
    assert "does not start with its country code" in refused.status.message


def test_gateway_toml_dataset_ownership(tmp_path: Path) -> None:
    from mesh.config import load_gateway_config
    from mesh.errors import ConfigError

    path = tmp_path / "gateway.toml"
    base = '[gateway]\nid = "gw"\nlisten = "127.0.0.1:0"\n{}\n'
    base += '[[peers]]\nid = "no-oslo"\ncountry = "NO"\naddresses = ["127.0.0.1:1"]\n'
    path.write_text(base.format('dataset_ownership = "country-prefix"'), encoding="utf-8")
    assert load_gateway_config(path).dataset_ownership == "country-prefix"
    path.write_text(base.format(""), encoding="utf-8")
    assert load_gateway_config(path).dataset_ownership == "first"
    path.write_text(base.format('dataset_ownership = "last"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[gateway\]\.dataset_ownership: 'last' must be"):
        load_gateway_config(path)
