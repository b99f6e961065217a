"""OIDC bearer tokens of the portal's users, and the GA4GH passport visas they carry.

:class:`BearerAuthenticator` validates ``Authorization: Bearer <JWT>`` against the
``[[http.oidc]]`` issuers: the token's ``iss`` must be configured, its ``alg`` RS256 or
ES256 (``none`` and every HMAC are refused before anything else), its signature must
verify with a key of that issuer's JWKS, ``exp`` and ``aud`` must be present and right,
``nbf`` (if present) passed. Its subject becomes the principal ``oidc:<issuer>#<sub>``.

A ``ga4gh_passport_v1`` claim is a list of visa JWTs; a visa counts when it is signed by
a configured issuer (keys of that issuer), unexpired (``exp`` required), for the same
``sub``, of type ``ControlledAccessGrants``, and its ``value`` names a dataset: the
dataset id itself (``no-ds``), or a URL or URN whose last ``/`` or ``:`` segment is
the id (``https://gdi.example/datasets/no-ds``, ``urn:gdi:dataset:no-ds``). Every other
visa is ignored (logged at debug level), never an error.

Keys are fetched with the first token and cached; a token naming an unknown ``kid``
refetches the set, at most once per ``jwks_min_refresh_s``, so a flood of made-up
``kid`` values cannot turn the gateway into a load generator against the issuer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

from mesh.config.http import OidcIssuerConfig
from mesh.security.principal import Principal

log = logging.getLogger(__name__)

#: JWS algorithms accepted, and the JWK key type each needs.
ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
#: Clock difference tolerated on ``exp``/``nbf``/``iat``.
LEEWAY_S = 30
#: Largest bearer token (a passport with many visas is a few KiB).
MAX_TOKEN_BYTES = 64 * 1024
_MAX_JWKS_BYTES = 1 << 20
_FETCH_TIMEOUT_S = 5.0
_DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
VISA_TYPE = "ControlledAccessGrants"


class BearerError(Exception):
    """A bearer token that is not accepted (HTTP 401, ``invalid_token``)."""


class KeysUnavailableError(Exception):
    """An issuer's keys could not be fetched (HTTP 503: not the caller's fault)."""


class _KeySet:
    """One issuer's JWKS: cached, refetched on an unknown ``kid`` (rate-limited)."""

    def __init__(self, config: OidcIssuerConfig, clock: Any = time.monotonic) -> None:
        self.config = config
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        #: When an unknown ``kid`` last caused a refetch (the rate-limited kind).
        self._refreshed_at: float | None = None
        self._clock = clock
        self._lock = asyncio.Lock()
        #: How many times the key set was read (for tests and metrics).
        self.fetches = 0

    async def key(self, kid: str | None) -> jwt.PyJWK:
        key = self._lookup(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self._lookup(kid)
            if key is not None:
                return key
            if self._fetched_at is not None:  # a refresh, not the first fetch: rate-limited
                last = self._refreshed_at
                if last is not None and self._clock() - last < self.config.jwks_min_refresh_s:
                    raise BearerError(f"no key {kid!r} in the key set of {self.config.issuer}")
                self._refreshed_at = self._clock()
            await self._refresh()
        key = self._lookup(kid)
        if key is None:
            raise BearerError(f"no key {kid!r} in the key set of {self.config.issuer}")
        return key

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))  # a one-key set may omit kid
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        self._fetched_at = self._clock()
        self.fetches += 1
        try:
            raw = await asyncio.to_thread(self._read)
            document = json.loads(raw)
            keys = document.get("keys") if isinstance(document, dict) else None
            if not isinstance(keys, list):
                raise ValueError("no 'keys' list")
        except (OSError, ValueError) as exc:
            log.warning("JWKS of %s unavailable: %s", self.config.issuer, exc)
            raise KeysUnavailableError(
                f"the signing keys of {self.config.issuer} cannot be fetched"
            ) from None
        fresh: dict[str | None, jwt.PyJWK] = {}
        for entry in keys:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                fresh[entry.get("kid")] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type or algorithm we do not use
        self._keys = fresh

    def _read(self) -> bytes:
        if self.config.jwks_file is not None:
            return self.config.jwks_file.read_bytes()[:_MAX_JWKS_BYTES]
        request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked at start
            self.config.jwks_url, headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=_FETCH_TIMEOUT_S) as response:  # noqa: S310
            data: bytes = response.read(_MAX_JWKS_BYTES)
            return data


def dataset_of_visa_value(value: object) -> str | None:
    """The dataset id a ``ControlledAccessGrants`` value names (see module docstring)."""
    if not isinstance(value, str):
        return None
    text = value.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    last = re.split(r"[/:]", text)[-1]
    return last if _DATASET_ID.match(last) else None


class BearerAuthenticator:
    """Validates bearer tokens against the configured issuers."""

    def __init__(self, issuers: Sequence[OidcIssuerConfig], clock: Any = time.monotonic) -> None:
        self._issuers: Mapping[str, _KeySet] = {i.issuer: _KeySet(i, clock) for i in issuers}

    def key_set(self, issuer: str) -> _KeySet:
        """The key cache of one issuer (tests count its fetches)."""
        return self._issuers[issuer]

    async def authenticate(self, token: str) -> Principal:
        """The principal ``token`` proves, or :class:`BearerError`."""
        if len(token) > MAX_TOKEN_BYTES:
            raise BearerError("token is too large")
        claims, keys = await self._verify(token, require=("exp", "iss", "aud", "sub"))
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise BearerError("token has no subject")
        grants = await self._grants(claims.get("ga4gh_passport_v1"), subject)
        return Principal.oidc(keys.config.issuer, subject, grants)

    async def _verify(
        self, token: str, *, require: tuple[str, ...], audience: bool = True
    ) -> tuple[dict[str, Any], _KeySet]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise BearerError("token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise BearerError(f"token algorithm {algorithm!r} is not accepted (RS256, ES256)")
        keys = self._issuers.get(unverified.get("iss"))  # type: ignore[arg-type]
        if keys is None:
            raise BearerError(f"token issuer {unverified.get('iss')!r} is not configured")
        kid = header.get("kid")
        key = await keys.key(kid if isinstance(kid, str) else None)
        if key.key_type != ALGORITHMS[algorithm]:
            raise BearerError(f"key {kid!r} is not a {ALGORITHMS[algorithm]} key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=keys.config.audience if audience else None,
                issuer=keys.config.issuer,
                leeway=LEEWAY_S,
                options={"require": list(require), "verify_aud": audience},
            )
        except jwt.ExpiredSignatureError:
            raise BearerError("token has expired") from None
        except jwt.ImmatureSignatureError:
            raise BearerError("token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise BearerError("token is not meant for this gateway (aud)") from None
        except jwt.PyJWTError as exc:
            raise BearerError(f"token rejected: {exc}") from None
        return claims, keys

    async def _grants(self, passport: object, subject: str) -> frozenset[str]:
        if passport is None:
            return frozenset()
        if not isinstance(passport, list):
            log.debug("ga4gh_passport_v1 is not a list: ignored")
            return frozenset()
        grants = set()
        for visa in passport:
            if not isinstance(visa, str):
                log.debug("a visa that is not a JWT: ignored")
                continue
            try:
                claims, _ = await self._verify(
                    visa, require=("exp", "iss", "sub", "ga4gh_visa_v1"), audience=False
                )
            except (BearerError, KeysUnavailableError) as exc:
                log.debug("visa ignored: %s", exc)
                continue
            body = claims["ga4gh_visa_v1"]
            if claims["sub"] != subject or not isinstance(body, dict):
                continue
            if body.get("type") != VISA_TYPE:
                continue
            dataset = dataset_of_visa_value(body.get("value"))
            if dataset is not None:
                grants.add(dataset)
        return frozenset(grants)
