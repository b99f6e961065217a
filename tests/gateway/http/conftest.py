"""Fixtures: a real node (module scope) and the HTTP API served by uvicorn in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.http.app import create_app, start_http
from gateway.http.backend import GrpcBackend, LookupBackend
from gateway.http.settings import HttpSettings
from mesh.config import TlsConfig
from tests.background_loop import NodeHandle, node_config, running_node
from tests.gateway.http.harness import COUNTRY, NODE_ID, build_datasets


@dataclass(frozen=True)
class ListenConfig:
    """The two fields start_http reads from the gateway configuration."""

    http_listen: str = "127.0.0.1:0"
    tls: TlsConfig | None = None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeHandle]:
    datasets = build_datasets(tmp_path_factory.mktemp("http-indexes"))
    config = node_config(datasets, node_id=NODE_ID, country=COUNTRY)
    with running_node(config, thread_name="http-test-node") as handle:
        yield handle


@pytest.fixture
async def backend(node: NodeHandle) -> AsyncIterator[GrpcBackend]:
    grpc_backend = GrpcBackend(node.address)
    yield grpc_backend
    await grpc_backend.close()


@pytest.fixture
async def client(backend: GrpcBackend) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served by a real uvicorn on an ephemeral loopback port."""
    server = await start_http(backend, ListenConfig())
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            yield http
    finally:
        await server.stop()


def asgi_client(backend: LookupBackend, settings: HttpSettings | None = None) -> httpx.AsyncClient:
    """A client calling the app in-process (no socket), for fake backends."""
    transport = httpx.ASGITransport(app=create_app(backend, settings), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
