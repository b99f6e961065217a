"""Helpers for the certificate attack tests: a one-record dataset, nodes and a gateway on mTLS."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig, TlsConfig
from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.serve.server import start_node
from tests.mesh_harness import fast_settings, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord

GATEWAYS = "spiffe://allelemesh.example/country/*/gateway/*"
VARIANT = allele_pb2.Variant(
    chromosome="1", position=2000, reference_bases="C", alternate_bases="T"
)


def dataset(root: Path, dataset_id: str, allele_count: int, allele_number: int = 1000) -> Path:
    """An index with one site, 1:2000 C>T, counted ``allele_count`` / ``allele_number``."""
    record = SiteRecord("1", 2000, "C", ["T"], GroupCounts(allele_number, [allele_count], [0]))
    return write_dataset(root / dataset_id, dataset_id, [record])


@contextlib.asynccontextmanager
async def node(
    node_id: str, country: str, tls: TlsConfig, datasets: Sequence[DatasetConfig]
) -> AsyncIterator[int]:
    """A real node on 127.0.0.1 with mTLS; yields its port."""
    config = NodeConfig(
        id=node_id,
        country=country,
        listen="127.0.0.1:0",
        tls=tls,
        reload_interval_s=0,
        datasets=tuple(datasets),
    )
    running = await start_node(config)
    try:
        yield running.port
    finally:
        await running.stop(0)


@contextlib.asynccontextmanager
async def gateway(tls: TlsConfig, peers: Sequence[PeerConfig]) -> AsyncIterator[int]:
    """A real gateway with mTLS over ``peers``; yields its port."""
    from gateway.server import start_gateway

    config = GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", peers=tuple(peers), tls=tls)
    running = await start_gateway(config, insecure=False, settings=fast_settings())
    try:
        yield running.port
    finally:
        await running.stop(0)


def peer(node_id: str, country: str, port: int) -> PeerConfig:
    return PeerConfig(id=node_id, country=country, addresses=(f"127.0.0.1:{port}",))


async def lookup(
    port: int, tls: TlsConfig, dataset_ids: Sequence[str] = ()
) -> allele_service_pb2.LookupVariantResponse:
    """One LookupVariant of :data:`VARIANT` as the holder of ``tls``."""
    async with open_aio_channel(f"127.0.0.1:{port}", tls) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        request = allele_service_pb2.LookupVariantRequest(
            variant=VARIANT, dataset_ids=list(dataset_ids)
        )
        response: allele_service_pb2.LookupVariantResponse = await stub.LookupVariant(
            request, timeout=5
        )
        return response


def reason_of(error: grpc.aio.AioRpcError) -> str:
    """The ``google.rpc.ErrorInfo`` reason of a failed call."""
    status = rpc_status.from_call(error)
    assert status is not None, error
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    raise AssertionError(f"no ErrorInfo in {error}")


def outcome_reason(outcome: allele_pb2.NodeOutcome) -> str:
    """The ErrorInfo reason of an outcome's status."""
    for detail in outcome.status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""
