"""Client-side peer identity checks and the server-side view of the caller."""

from __future__ import annotations

import grpc
import pytest

from mesh.config import PeerConfig
from mesh.errors import PermissionDeniedError, UnavailableError
from mesh.security.identity import SpiffeId, client_identity_of, peer_identity
from mesh.security.tls import (
    PeerIdentityVerifier,
    channel_credentials,
    expected_peer_identity,
    server_credentials,
    verify_peer_identity,
)
from tests.mesh.security.conftest import run_node
from tests.pki_factory import TestPki

NO_NODE = "spiffe://allelemesh.example/country/NO/node/no-oslo-1"
FI_NODE = "spiffe://allelemesh.example/country/FI/node/fi-helsinki-1"


async def test_server_sees_the_clients_spiffe_id(test_pki: TestPki) -> None:
    server_tls = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client_tls = test_pki.tls(test_pki.leaf("FI", "operator", "fi-ops-anna"))
    seen: list[SpiffeId | None] = []

    async def whoami(_request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        seen.append(peer_identity(context))
        return str(seen[-1]).encode()

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "test.Who", {"Am": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_secure_port("127.0.0.1:0", server_credentials(server_tls))
    await server.start()
    try:
        creds = channel_credentials(client_tls)
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", creds) as channel:
            answer = await channel.unary_unary("/test.Who/Am")(b"", timeout=5)
    finally:
        await server.stop(None)
    assert seen == [client_identity_of(client_tls)]
    assert answer == b"spiffe://allelemesh.example/country/FI/operator/fi-ops-anna"


async def test_peer_identity_is_none_on_plaintext() -> None:
    seen: list[SpiffeId | None] = []

    async def whoami(_request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        seen.append(peer_identity(context))
        return b""

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "test.Who", {"Am": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await channel.unary_unary("/test.Who/Am")(b"", timeout=5)
    finally:
        await server.stop(None)
    assert seen == [None]


async def test_verify_accepts_the_expected_identity(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        got = await verify_peer_identity(f"127.0.0.1:{port}", client, NO_NODE)
        pattern = "spiffe://allelemesh.example/country/NO/node/*"
        assert await verify_peer_identity(f"127.0.0.1:{port}", client, pattern) == got
    assert str(got) == NO_NODE


async def test_another_countrys_certificate_is_a_mismatch(test_pki: TestPki) -> None:
    # The FI peer's address answers with a NO certificate (valid chain, wrong country).
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("LU", "gateway", "lu-gw"))
    async with run_node(server) as port:
        with pytest.raises(PermissionDeniedError) as info:
            await verify_peer_identity(f"127.0.0.1:{port}", client, FI_NODE)
    error = info.value
    assert error.reason == "PEER_IDENTITY_MISMATCH"
    assert error.code == grpc.StatusCode.PERMISSION_DENIED
    assert FI_NODE in error.message
    assert NO_NODE in error.message
    assert error.metadata["presented"] == NO_NODE


async def test_role_is_part_of_the_identity(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "gateway", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        with pytest.raises(PermissionDeniedError, match="presented identity"):
            await verify_peer_identity(f"127.0.0.1:{port}", client, NO_NODE)


async def test_foreign_server_certificate_is_untrusted(test_pki: TestPki) -> None:
    foreign = test_pki.foreign()
    server = foreign.tls(foreign.leaf("NO", "node", "no-oslo-1"), test_pki.root_cert)
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        with pytest.raises(PermissionDeniedError) as info:
            await verify_peer_identity(f"127.0.0.1:{port}", client, NO_NODE)
    assert info.value.reason == "PEER_CERTIFICATE_UNTRUSTED"


async def test_expired_server_certificate_is_untrusted(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1", expired=True))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        with pytest.raises(PermissionDeniedError, match="expired"):
            await verify_peer_identity(f"127.0.0.1:{port}", client, NO_NODE)


async def test_unreachable_peer_is_unavailable(test_pki: TestPki) -> None:
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))) as port:
        pass  # the port is free again now
    with pytest.raises(UnavailableError) as info:
        await verify_peer_identity(f"127.0.0.1:{port}", client, NO_NODE, timeout=2)
    assert info.value.reason == "PEER_UNREACHABLE"


async def test_verifier_caches_results(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    verifier = PeerIdentityVerifier(client)
    async with run_node(server) as port:
        address = f"127.0.0.1:{port}"
        assert str(await verifier.verify(address, NO_NODE)) == NO_NODE
        with pytest.raises(PermissionDeniedError):
            await verifier.verify(address, FI_NODE)
    # The node is gone: answers now come from the cache, refusals included.
    assert str(await verifier.verify(address, NO_NODE)) == NO_NODE
    with pytest.raises(PermissionDeniedError, match="presented identity"):
        await verifier.verify(address, FI_NODE)
    verifier.forget(address)
    with pytest.raises(UnavailableError):
        await verifier.verify(address, NO_NODE, timeout=2)


async def test_verifier_starts_afresh_when_our_certificate_rotates(test_pki: TestPki) -> None:
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    verifier = PeerIdentityVerifier(client, recheck_files_s=0)
    async with run_node(test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))) as port:
        await verifier.verify(f"127.0.0.1:{port}", NO_NODE)
    test_pki.leaf("FI", "gateway", "fi-gw", force=True)
    with pytest.raises(UnavailableError):
        await verifier.verify(f"127.0.0.1:{port}", NO_NODE, timeout=2)


def test_expected_identity_defaults_to_the_peers_country() -> None:
    peer = PeerConfig(id="fi-helsinki-1", country="FI", addresses=("h:1",))
    assert expected_peer_identity(peer, "allelemesh.example") == (
        "spiffe://allelemesh.example/country/FI/node/*"
    )
    named = PeerConfig(id="x", country="FI", addresses=("h:1",), identity=FI_NODE)
    assert expected_peer_identity(named, "allelemesh.example") == FI_NODE
