"""Shared helpers for the transport tests: a throw-away PKI and real nodes on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from mesh.config import NodeConfig, TlsConfig
from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import catalog_service_pb2, catalog_service_pb2_grpc
from nodes.serve.server import start_node
from tests.pki_factory import TestPki


@pytest.fixture
def test_pki(tmp_path: Path) -> TestPki:
    return TestPki.create(tmp_path / "pki")


@contextlib.asynccontextmanager
async def run_node(tls: TlsConfig, node_id: str = "no-oslo-1") -> AsyncIterator[int]:
    """A real node (no datasets) serving mTLS on 127.0.0.1; yields its port."""
    config = NodeConfig(
        id=node_id, country="NO", listen="127.0.0.1:0", datasets=(), tls=tls, reload_interval_s=0
    )
    node = await start_node(config)
    try:
        yield node.port
    finally:
        await node.stop(None)


async def list_datasets(port: int, tls: TlsConfig | None, timeout: float = 5.0) -> None:
    """One CatalogService/ListDatasets call (raises grpc.aio.AioRpcError on refusal)."""
    async with open_aio_channel(f"127.0.0.1:{port}", tls) as channel:
        stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        await stub.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=timeout)


async def expect_refused(port: int, tls: TlsConfig | None) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await list_datasets(port, tls, timeout=3.0)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    return info.value


def client_context(tls: TlsConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ca in tls.ca:
        context.load_verify_locations(ca)
    context.load_cert_chain(tls.cert, tls.key)
    context.set_alpn_protocols(["h2"])
    return context


async def handshake(port: int, context: ssl.SSLContext) -> tuple[str, x509.Certificate]:
    """A fresh TLS handshake; returns the version and the server's leaf certificate."""
    _, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"), 5
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        version = ssl_object.version()
        der = ssl_object.getpeercert(binary_form=True)
    finally:
        writer.transport.abort()  # no TLS close_notify dance: the server never answers it
    return version, x509.load_der_x509_certificate(der)
