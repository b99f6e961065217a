"""start_http: an ephemeral port, the OpenAPI document, and a clean stop."""

from __future__ import annotations

import httpx
import pytest

from gateway.http.app import start_http
from gateway.http.server import split_listen
from mesh.errors import ConfigError
from tests.gateway.http.conftest import ListenConfig
from tests.gateway.http.fakes import FakeBackend


async def test_ephemeral_port_openapi_and_stop():
    server = await start_http(FakeBackend(), ListenConfig("127.0.0.1:0"))
    try:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=server.url) as http:
            spec = (await http.get("/openapi.json")).json()
            assert "/api/g_variants" in spec["paths"]
            assert "/v1/variants:batch" in spec["paths"]
            for path, operations in spec["paths"].items():
                for operation in operations.values():
                    assert operation.get("summary"), path
            assert (await http.get("/docs")).status_code == 200
    finally:
        await server.stop()
    assert server.task.done()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"{server.url}/api")


async def test_port_in_use_is_a_config_error():
    first = await start_http(FakeBackend(), ListenConfig("127.0.0.1:0"))
    try:
        with pytest.raises(ConfigError, match="http_listen"):
            await start_http(FakeBackend(), ListenConfig(f"127.0.0.1:{first.port}"))
    finally:
        await first.stop()


@pytest.mark.parametrize(
    ("listen", "expected"), [("127.0.0.1:80", ("127.0.0.1", 80)), ("[::1]:0", ("::1", 0))]
)
def test_split_listen(listen, expected):
    assert split_listen(listen) == expected


@pytest.mark.parametrize("listen", ["localhost", ":80", "host:99999", "host:http"])
def test_split_listen_refuses(listen):
    with pytest.raises(ConfigError):
        split_listen(listen)
