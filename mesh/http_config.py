"""``[http]`` of ``gateway.toml``: how the gateway's HTTP API presents itself and its limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mesh.config import _Table

DEFAULT_HEADER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HttpOptions:
    """``[http]``: the public address printed in answers, and the request-head deadline."""

    #: ``https://beacon.example.org/`` (always ending in ``/``); empty: the listen address.
    public_url: str = ""
    #: Seconds a request's head may take to arrive (slowloris) before ``408`` and a close.
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S


def normalize_public_url(url: str) -> str:
    """``https://host[:port][/prefix]`` with a trailing ``/``; ValueError says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} must be an absolute http:// or https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r} must have no query, fragment or credentials")
    return url if url.endswith("/") else url + "/"


def parse_http(root: _Table) -> HttpOptions:
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
    table.reject_unknown()
    return HttpOptions(public_url, timeout)
