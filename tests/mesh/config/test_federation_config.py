"""gateway.toml: typed and validated, errors name the key."""

from __future__ import annotations

import pytest

from mesh.config import load_gateway_config
from mesh.errors import ConfigError

GOOD = """
[gateway]
id = "gw-eu"
listen = "127.0.0.1:50060"
http_listen = "127.0.0.1:8080"
timeout_ms = 1500
country = "EU"

[[peers]]
id = "no-oslo-1"
country = "NO"
address = "127.0.0.1:50051"
timeout_ms = 800

[[peers]]
id = "fi-hki-1"
country = "FI"
addresses = ["127.0.0.1:50052", "[::1]:50053"]
identity = "spiffe://mesh.example/country/FI/node/fi-hki-1"
"""


def test_good_gateway_config(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text(GOOD)
    config = load_gateway_config(path)
    assert (config.id, config.listen, config.http_listen) == (
        "gw-eu", "127.0.0.1:50060", "127.0.0.1:8080"
    )  # fmt: skip
    assert (config.timeout_ms, config.country, config.tls) == (1500, "EU", None)
    assert [p.id for p in config.peers] == ["no-oslo-1", "fi-hki-1"]
    assert config.peers[0].timeout_ms == 800
    assert config.peers[1].addresses == ("127.0.0.1:50052", "[::1]:50053")
    assert config.peers[1].identity.startswith("spiffe://")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (('id = "gw-eu"', 'id = "gw eu"'), "[gateway].id"),
        (('listen = "127.0.0.1:50060"', 'listen = "nowhere"'), "[gateway].listen"),
        (("timeout_ms = 1500", "timeout_ms = 0"), "[gateway].timeout_ms"),
        (("timeout_ms = 1500", "timeout = 1500"), "[gateway].timeout: is not a known key"),
        (('address = "127.0.0.1:50051"', 'address = "x"'), "[[peers]][0].address"),
        (('country = "EU"', 'country = "Europe"'), "[gateway].country"),
    ],
)
def test_bad_gateway_config_names_the_key(tmp_path, edit, expected):
    path = tmp_path / "gateway.toml"
    path.write_text(GOOD.replace(*edit))
    with pytest.raises(ConfigError) as caught:
        load_gateway_config(path)
    assert expected in caught.value.message


def test_gateway_without_peers_is_refused(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\nid = "gw"\nlisten = "127.0.0.1:1"\n')
    with pytest.raises(ConfigError, match="peers"):
        load_gateway_config(path)


def test_gateway_references_resolve_beside_the_file(tmp_path):
    (tmp_path / "grch38.fa").write_text(">chr1\nACGT\n")
    path = tmp_path / "gateway.toml"
    path.write_text(GOOD + '\n[references]\nGRCh38 = "grch38.fa"\n')
    config = load_gateway_config(path)
    assert {a.value: p for a, p in config.references.items()} == {"GRCh38": tmp_path / "grch38.fa"}
    path.write_text(GOOD + '\n[references]\nGRCh39 = "grch38.fa"\n')
    with pytest.raises(ConfigError, match="GRCh39"):
        load_gateway_config(path)
