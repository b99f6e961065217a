"""mTLS on a real node: who gets in and who is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import grpc
import pytest

from mesh.config import NodeConfig
from mesh.errors import ConfigError
from nodes.serve.server import start_node
from tests.mesh.security.conftest import expect_refused, list_datasets, run_node
from tests.pki_factory import TestPki


async def test_mutual_tls_call_succeeds(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        await list_datasets(port, client)


async def test_trust_bundle_may_list_country_cas(test_pki: TestPki) -> None:
    # A country that brings its own CA: the bundle lists CA files, not only the root.
    server = test_pki.tls(
        test_pki.leaf("NO", "node", "no-oslo-1"), test_pki.country("FI").cert, test_pki.root_cert
    )
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        await list_datasets(port, client)


async def test_client_without_certificate_is_refused(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    root = test_pki.root_cert.read_bytes()
    async with run_node(server) as port:
        channel = grpc.aio.secure_channel(f"127.0.0.1:{port}", grpc.ssl_channel_credentials(root))
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await channel.unary_unary("/mesh.v1.CatalogService/ListDatasets")(b"", timeout=3)
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_client_from_foreign_ca_is_refused(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    foreign = test_pki.foreign()
    # The rogue client trusts our root (so it can see the server) but its own chain is foreign.
    rogue = foreign.tls(foreign.leaf("FI", "gateway", "fi-gw"), test_pki.root_cert)
    async with run_node(server) as port:
        await expect_refused(port, rogue)


async def test_expired_client_certificate_is_refused(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw", expired=True))
    async with run_node(server) as port:
        await expect_refused(port, client)


async def test_expired_server_certificate_is_refused_by_client(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1", expired=True))
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        error = await expect_refused(port, client)
    assert "certificate has expired" in str(error.details())


async def test_server_from_foreign_ca_is_refused_by_client(test_pki: TestPki) -> None:
    foreign = test_pki.foreign()
    server = foreign.tls(foreign.leaf("NO", "node", "no-oslo-1"), test_pki.root_cert)
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    async with run_node(server) as port:
        error = await expect_refused(port, client)
    assert "CERTIFICATE_VERIFY_FAILED" in str(error.details())


async def test_plaintext_client_is_refused_on_tls_port(test_pki: TestPki) -> None:
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    async with run_node(server) as port:
        await expect_refused(port, None)


async def test_insecure_is_refused_with_tls_table(test_pki: TestPki) -> None:
    tls = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"))
    config = NodeConfig(id="n", country="NO", listen="127.0.0.1:0", datasets=(), tls=tls)
    with pytest.raises(ConfigError, match="--insecure is refused"):
        await start_node(config, insecure=True)


async def test_plaintext_needs_explicit_insecure() -> None:
    config = NodeConfig(id="n", country="NO", listen="127.0.0.1:0", datasets=())
    with pytest.raises(ConfigError, match="no \\[tls\\] table"):
        await start_node(config)


async def test_mismatched_key_fails_at_start(test_pki: TestPki) -> None:
    one = test_pki.leaf("NO", "node", "no-oslo-1")
    other = test_pki.leaf("NO", "node", "no-oslo-2")
    tls = test_pki.tls(one)
    bad = type(tls)(ca=tls.ca, cert=one.cert, key=other.key)
    config = NodeConfig(id="n", country="NO", listen="127.0.0.1:0", datasets=(), tls=bad)
    with pytest.raises(ConfigError, match="is not the key of certificate"):
        await start_node(config)


def test_insecure_logs_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import nodes.serve.server
    from mesh.cli import build_parser

    config = tmp_path / "node.toml"
    config.write_text('[node]\nid = "n"\ncountry = "NO"\nlisten = "127.0.0.1:0"\n')
    served: list[bool] = []
    monkeypatch.setattr(
        nodes.serve.server, "serve_forever", lambda _c, **kw: served.append(kw["insecure"])
    )
    args = build_parser().parse_args(["node", "serve", "--config", str(config), "--insecure"])
    with caplog.at_level(logging.WARNING):
        args.handler(args)
    assert served == [True]
    assert any(
        "plaintext" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )
