"""SPIFFE IDs: parsing, patterns, and reading them from certificates."""

from __future__ import annotations

import pytest

from mesh.config import TlsConfig
from mesh.errors import ConfigError, InvalidArgumentError
from mesh.security.identity import (
    SpiffeId,
    client_identity_of,
    identity_pattern_matches,
    spiffe_id_of_pem,
)
from tests.pki_factory import TestPki

GW = "spiffe://allelemesh.example/country/NO/gateway/no-gw-1"


def test_parse_and_str_round_trip() -> None:
    spiffe_id = SpiffeId.parse(GW)
    assert spiffe_id == SpiffeId("allelemesh.example", "NO", "gateway", "no-gw-1")
    assert str(spiffe_id) == GW


@pytest.mark.parametrize(
    "uri",
    [
        "https://allelemesh.example/country/NO/gateway/x",
        "spiffe://allelemesh.example/country/NO/gateway",
        "spiffe://allelemesh.example/region/NO/gateway/x",
        "spiffe://allelemesh.example/country/no/gateway/x",
        "spiffe://allelemesh.example/country/NO/admin/x",
        "spiffe://Allelemesh.Example/country/NO/node/x",
        "spiffe://allelemesh.example/country/NO/node/x/extra",
        "spiffe://allelemesh.example/country/NO/node/",
    ],
)
def test_parse_rejects_other_shapes(uri: str) -> None:
    with pytest.raises(InvalidArgumentError):
        SpiffeId.parse(uri)


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        (GW, True),
        ("spiffe://allelemesh.example/country/*/gateway/*", True),
        ("spiffe://allelemesh.example/country/NO/*/*", True),
        ("spiffe://allelemesh.example/country/NO/gateway/no-*", True),
        ("spiffe://allelemesh.example/country/*/node/*", False),
        ("spiffe://allelemesh.example/country/FI/gateway/*", False),
        ("spiffe://other.example/country/*/gateway/*", False),
        ("spiffe://allelemesh.example/*", False),  # '*' never spans '/'
        ("spiffe://allelemesh.example/country/no/gateway/*", False),  # case-sensitive
        ("allelemesh.example/country/*/gateway/*", False),
    ],
)
def test_identity_patterns(pattern: str, matches: bool) -> None:
    assert identity_pattern_matches(pattern, GW) is matches
    assert identity_pattern_matches(pattern, SpiffeId.parse(GW)) is matches


def test_client_identity_of_reads_our_certificate(test_pki: TestPki) -> None:
    tls = test_pki.tls(test_pki.leaf("NO", "gateway", "no-gw-1"))
    assert str(client_identity_of(tls)) == GW


def test_client_identity_of_a_ca_certificate_is_a_config_error(test_pki: TestPki) -> None:
    country = test_pki.country("NO")
    tls = TlsConfig(ca=(test_pki.root_cert,), cert=country.cert, key=country.key)
    with pytest.raises(ConfigError, match="no single allelemesh SPIFFE URI SAN"):
        client_identity_of(tls)


def test_client_identity_of_missing_file(tmp_path) -> None:
    tls = TlsConfig(ca=(), cert=tmp_path / "nope.crt", key=tmp_path / "nope.key")
    with pytest.raises(ConfigError, match="cannot read"):
        client_identity_of(tls)


def test_spiffe_id_of_garbage_is_none() -> None:
    assert spiffe_id_of_pem(b"not a certificate") is None
