"""``[[http.oidc]]`` and the gateway's ``[audit]`` in gateway.toml: read, validated, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import load_gateway_config
from mesh.errors import ConfigError

BASE = """
[gateway]
id = "eu-gw-1"
listen = "127.0.0.1:0"

[[peers]]
id = "no-oslo-1"
country = "NO"
address = "127.0.0.1:50051"
"""


def load(tmp_path: Path, extra: str):
    path = tmp_path / "gateway.toml"
    path.write_text(BASE + extra)
    return load_gateway_config(path)


def test_issuers_and_audit_are_read(tmp_path: Path):
    (tmp_path / "keys.json").write_text('{"keys": []}')
    config = load(tmp_path, """
[audit]
path = "audit/gateway.jsonl"

[[http.oidc]]
issuer = "https://login.example/oidc/"
audience = "allelemesh"
jwks_url = "https://login.example/oidc/jwk"

[[http.oidc]]
issuer = "https://other.example/"
audience = "allelemesh"
jwks_file = "keys.json"
jwks_min_refresh_s = 5
""")  # fmt: skip
    assert config.audit_path == tmp_path / "audit" / "gateway.jsonl"
    first, second = config.http.oidc
    assert (first.issuer, first.audience, first.jwks_url) == (
        "https://login.example/oidc/", "allelemesh", "https://login.example/oidc/jwk"
    )  # fmt: skip
    assert first.jwks_min_refresh_s == 60.0
    assert second.jwks_file == tmp_path / "keys.json"
    assert second.jwks_min_refresh_s == 5.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('issuer = "i"\naudience = "a"\n', r"\[\[http\.oidc\]\]\[0\]\.jwks_url: give exactly one"),
        ('issuer = "i"\naudience = "a"\njwks_url = "https://x/k"\njwks_file = "k.json"\n',
         "give exactly one"),
        ('issuer = "i"\naudience = "a"\njwks_url = "file:///etc/passwd"\n', "https://"),
        ('issuer = "i"\njwks_url = "https://x/k"\n', r"audience: is required"),
        ('issuer = "i"\naudience = "a"\njwks_url = "https://x/k"\nalgorithm = "HS256"\n',
         "algorithm: is not a known key"),
        ('issuer = "i"\naudience = "a"\njwks_file = "missing.json"\n', "does not exist"),
    ],
)  # fmt: skip
def test_bad_issuer_tables_stop_the_gateway_naming_the_key(tmp_path: Path, table, message):
    (tmp_path / "k.json").write_text("{}")
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, "[[http.oidc]]\n" + table)


def test_an_issuer_listed_twice_is_refused(tmp_path: Path):
    entry = '[[http.oidc]]\nissuer = "i"\naudience = "a"\njwks_url = "https://x/k"\n'
    with pytest.raises(ConfigError, match="listed twice"):
        load(tmp_path, entry + entry)
