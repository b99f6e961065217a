"""Gateway replicas behind one address share a page-token key, and only then each other's tokens."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.server import federation_settings, start_gateway
from mesh.config import GatewayConfig, load_gateway_config
from mesh.errors import ConfigError
from mesh.v1 import allele_service_pb2, allele_service_pb2_grpc
from tests.gateway.test_region_paging import REGION
from tests.mesh_harness import fast_settings, peer_of, running_nodes


@contextlib.asynccontextmanager
async def replica(peers, secret: bytes | None) -> AsyncIterator:
    config = GatewayConfig(id="eu-gw", listen="127.0.0.1:0", peers=tuple(peers))
    gateway = await start_gateway(
        config, insecure=True, settings=fast_settings(page_token_secret=secret)
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}")
    try:
        yield allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
    finally:
        await channel.close()
        await gateway.stop(0)


@pytest.mark.asyncio
async def test_a_page_token_from_one_replica_is_honoured_by_another(countries):
    shared = secrets.token_bytes(32)
    async with running_nodes([c.spec() for c in countries]) as nodes:
        peers = [peer_of(c.node_id, c.country, nodes[c.node_id].port) for c in countries]
        async with (
            replica(peers, shared) as first,
            replica(peers, shared) as second,
            replica(peers, None) as stranger,
        ):
            request = allele_service_pb2.SearchRegionRequest(region=REGION, page_size=3)
            page1 = await first.SearchRegion(request, timeout=5)
            assert page1.next_page_token
            request.page_token = page1.next_page_token
            from_second = await second.SearchRegion(request, timeout=5)
            from_first = await first.SearchRegion(request, timeout=5)
            assert list(from_second.frequencies) == list(from_first.frequencies)
            assert from_second.frequencies[0] not in list(page1.frequencies)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stranger.SearchRegion(request, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def gateway_toml(tmp_path: Path, secret_line: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "eu-gw"\nlisten = "127.0.0.1:0"\n' + secret_line
        + '\n[[peers]]\nid = "no-oslo-1"\ncountry = "NO"\naddress = "127.0.0.1:1"\n'
    )  # fmt: skip
    return path


def test_secret_file_in_gateway_toml(tmp_path):
    key = tmp_path / "page-token.key"
    key.write_text(secrets.token_hex(32) + "\n")
    config = load_gateway_config(
        gateway_toml(tmp_path, 'page_token_secret_file = "page-token.key"')
    )
    assert config.page_token_secret == key.read_bytes().strip()
    assert federation_settings(config).page_token_secret == config.page_token_secret
    assert load_gateway_config(gateway_toml(tmp_path, "")).page_token_secret is None


def test_a_short_secret_is_refused(tmp_path):
    (tmp_path / "short.key").write_text("tiny")
    with pytest.raises(ConfigError, match=r"page_token_secret_file.*4 bytes"):
        load_gateway_config(gateway_toml(tmp_path, 'page_token_secret_file = "short.key"'))
