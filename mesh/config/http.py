"""``[http]`` of ``gateway.toml``: the HTTP API's address, limits and bearer-token issuers.

``[[http.oidc]]`` names an OpenID Connect issuer (see README, Security)::

    [[http.oidc]]
    issuer = "https://login.elixir-czech.org/oidc/"   # the tokens' exact `iss`
    audience = "allelemesh-gateway"                   # the `aud` they must carry
    jwks_url = "https://login.elixir-czech.org/oidc/jwk"   # or jwks_file = "keys.json"
    jwks_min_refresh_s = 60                           # at most one refetch per minute
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mesh.config.table import Table, read_path

DEFAULT_HEADER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class OidcIssuerConfig:
    """One ``[[http.oidc]]`` entry: an issuer whose tokens (RS256/ES256) are accepted."""

    issuer: str
    audience: str
    jwks_url: str = ""
    jwks_file: Path | None = None
    #: An unknown ``kid`` refetches the key set at most once per this many seconds.
    jwks_min_refresh_s: float = 60.0


@dataclass(frozen=True)
class HttpOptions:
    """``[http]``: the public address printed in answers, and the request-head deadline."""

    #: ``https://beacon.example.org/`` (always ending in ``/``); empty: the listen address.
    public_url: str = ""
    #: Seconds a request's head may take to arrive (slowloris) before ``408`` and a close.
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    #: ``[[http.oidc]]``: issuers whose bearer tokens the HTTP API accepts.
    oidc: tuple[OidcIssuerConfig, ...] = ()


def normalize_public_url(url: str) -> str:
    """``https://host[:port][/prefix]`` with a trailing ``/``; ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} must be an absolute http:// or https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r} must have no query, fragment or credentials")
    return url if url.endswith("/") else url + "/"


def parse_http(root: Table, base: Path) -> HttpOptions:
    """Read the optional ``[http]`` table."""
    table = root.table("http")
    if table is None:
        return HttpOptions()
    public_url = table.get("public_url", str, "")
    if public_url:
        try:
            public_url = normalize_public_url(public_url)
        except ValueError as error:
            raise table.fail("public_url", str(error)) from None
    timeout = table.get("header_timeout_s", float, DEFAULT_HEADER_TIMEOUT_S)
    if not (math.isfinite(timeout) and 0.0 < timeout <= 300.0):
        raise table.fail("header_timeout_s", f"{timeout} must be between 0 and 300 seconds")
    oidc = _parse_oidc(table, base)
    table.reject_unknown()
    return HttpOptions(public_url, timeout, oidc)


def _parse_oidc(http: Table, base: Path) -> tuple[OidcIssuerConfig, ...]:
    """Read ``[[http.oidc]]``."""
    issuers = []
    seen: set[str] = set()
    for i, table in enumerate(http.tables("oidc")):
        table.path = f"[[http.oidc]][{i}]"  # errors name the full table
        issuer = table.get("issuer", str, required=True)
        if not issuer or issuer in seen:
            raise table.fail("issuer", f"{issuer!r} is empty or listed twice")
        seen.add(issuer)
        audience = table.get("audience", str, required=True)
        if not audience:
            raise table.fail("audience", "must not be empty")
        url = table.optional("jwks_url", str) or ""
        file = read_path(table, "jwks_file", base) if "jwks_file" in table.data else None
        if bool(url) == (file is not None):
            raise table.fail("jwks_url", "give exactly one of jwks_url and jwks_file")
        if url and urlsplit(url).scheme not in ("https", "http"):
            raise table.fail("jwks_url", f"{url!r} must be an https:// URL")
        refresh = table.get("jwks_min_refresh_s", float, 60.0)
        if refresh < 0:
            raise table.fail("jwks_min_refresh_s", "must not be negative")
        issuers.append(OidcIssuerConfig(issuer, audience, url, file, refresh))
        table.reject_unknown()
    return tuple(issuers)
