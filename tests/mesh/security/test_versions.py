"""Which TLS versions a node accepts: 1.2 and 1.3, never anything older.

grpcio's Python API cannot set a server's minimum TLS version, so these tests pin gRPC
core's default range. The TLS 1.1 probe is checked against a control server that does
speak TLS 1.1, so the refusal is the node's, not our client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import grpc
import pytest

from mesh.config import TlsConfig
from mesh.security.identity import peer_identity
from mesh.security.tls import ACCEPTED_TLS_VERSIONS, channel_credentials, server_credentials
from tests.mesh.security.conftest import client_context, handshake, run_node
from tests.pki_factory import TestPki


def pinned_client(tls: TlsConfig, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = client_context(tls)
    # OpenSSL 3 allows TLS < 1.2 only at security level 0; the point is to offer it.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = version
    return context


@contextlib.asynccontextmanager
async def permissive_server(tls: TlsConfig) -> AsyncIterator[int]:
    """A plain Python TLS server that accepts TLS 1.0-1.3 (the control)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.load_cert_chain(tls.cert, tls.key)

    async def serve(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def pair(test_pki: TestPki) -> tuple[TlsConfig, TlsConfig]:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    return server, client


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
async def test_old_tls_is_refused(pair: tuple[TlsConfig, TlsConfig], version: ssl.TLSVersion):
    server, client = pair
    context = pinned_client(client, version)
    async with permissive_server(server) as control_port:
        got, _ = await handshake(control_port, context)  # our client really speaks it
    assert got == {ssl.TLSVersion.TLSv1: "TLSv1", ssl.TLSVersion.TLSv1_1: "TLSv1.1"}[version]
    async with run_node(server) as port:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            await handshake(port, pinned_client(client, version))


@pytest.mark.parametrize(
    ("version", "name"),
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")],
)
async def test_tls_12_and_13_are_accepted(
    pair: tuple[TlsConfig, TlsConfig], version: ssl.TLSVersion, name: str
) -> None:
    server, client = pair
    async with run_node(server) as port:
        got, _ = await handshake(port, pinned_client(client, version))
    assert got == name
    assert name in ACCEPTED_TLS_VERSIONS


async def test_mesh_channels_negotiate_tls_13(pair: tuple[TlsConfig, TlsConfig]) -> None:
    server_tls, client_tls = pair
    seen: list[tuple[bytes, str | None]] = []

    async def whoami(_request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        identity = peer_identity(context)
        seen.append((context.auth_context()["ssl_tls_version"][0], str(identity)))
        return b""

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "test.Who", {"Am": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_secure_port("127.0.0.1:0", server_credentials(server_tls))
    await server.start()
    try:
        target = f"127.0.0.1:{port}"
        async with grpc.aio.secure_channel(target, channel_credentials(client_tls)) as channel:
            await channel.unary_unary("/test.Who/Am")(b"", timeout=5)
    finally:
        await server.stop(None)
    assert seen == [(b"TLSv1.3", "spiffe://allelemesh.example/country/FI/gateway/fi-gw")]
