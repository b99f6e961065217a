"""Opaque, tamper-proof page tokens (AIP-158).

A token carries a server-private resume state (for a node: the last key and dataset
served; for a gateway: every node's own token) bound to the query it belongs to:

``base64url( version | fingerprint(16) | state | hmac-sha256(secret, …)[:16] )``

The fingerprint is a hash of every request field that defines the result set
(not ``page_size``), so a token replayed against another query, or edited by a
client, is refused with ``INVALID_ARGUMENT`` instead of reading other data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from mesh.errors import InvalidArgumentError

_VERSION = b"\x01"
_FINGERPRINT_LEN = 16
_MAC_LEN = 16
#: Longest token accepted, so a hostile client cannot make us hash megabytes.
MAX_TOKEN_CHARS = 16_384

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size_or_default(requested: int, *, field: str = "page_size") -> int:
    """Return the effective page size: 0 means the default, above the cap means the cap."""
    if requested < 0:
        raise InvalidArgumentError(
            field, f"page_size must not be negative (got {requested})", reason="INVALID_PAGE_SIZE"
        )
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    return min(requested, MAX_PAGE_SIZE)


def query_fingerprint(*parts: object) -> bytes:
    """Return a 16-byte hash of the fields that define a query's result set."""
    digest = hashlib.blake2b(digest_size=_FINGERPRINT_LEN)
    for part in parts:
        encoded = repr(part).encode("utf-8")
        digest.update(len(encoded).to_bytes(4, "big"))
        digest.update(encoded)
    return digest.digest()


class PageTokenCodec:
    """Signs and checks page tokens with one secret (shared by a node's worker processes)."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    @property
    def secret(self) -> bytes:
        """The signing key; pass it to worker processes so they accept each other's tokens."""
        return self._secret

    def encode(self, fingerprint: bytes, state: bytes) -> str:
        """Return the token for resuming ``state`` of the query with ``fingerprint``."""
        body = _VERSION + fingerprint + state
        mac = hmac.new(self._secret, body, hashlib.sha256).digest()[:_MAC_LEN]
        return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode("ascii")

    def decode(self, token: str, fingerprint: bytes, *, field: str = "page_token") -> bytes:
        """Return the state in ``token``; refuse one that is forged or from another query."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidArgumentError(field, "page token is too long", reason="INVALID_PAGE_TOKEN")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise InvalidArgumentError(
                field, "page token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
            ) from None
        if len(raw) < 1 + _FINGERPRINT_LEN + _MAC_LEN or raw[:1] != _VERSION:
            raise InvalidArgumentError(
                field, "page token is not a token this server issued", reason="INVALID_PAGE_TOKEN"
            )
        body, mac = raw[:-_MAC_LEN], raw[-_MAC_LEN:]
        expected = hmac.new(self._secret, body, hashlib.sha256).digest()[:_MAC_LEN]
        if not hmac.compare_digest(mac, expected):
            raise InvalidArgumentError(
                field,
                "page token was altered or issued by another server (or before a restart)",
                reason="INVALID_PAGE_TOKEN",
            )
        if body[1 : 1 + _FINGERPRINT_LEN] != fingerprint:
            raise InvalidArgumentError(
                field,
                "page token belongs to a different query: keep every field but page_size the same",
                reason="PAGE_TOKEN_QUERY_MISMATCH",
            )
        return body[1 + _FINGERPRINT_LEN :]
