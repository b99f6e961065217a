"""Forwarding tokens: a forwarder's signed statement of whom it asks on behalf of.

A gateway (or a node fanning a ``SCOPE_MESH`` request out) calls nodes with its own
certificate. To let the node authorize the *origin* too, every forwarded call carries
``x-mesh-origin-token``: a JWT signed with the forwarder's own TLS private key
(ES256/ES384 for EC keys, RS256 for RSA, EdDSA for Ed25519), with the claims

========  ==============================================================================
``iss``   the forwarder's SPIFFE ID (must equal the verified client certificate's)
``aud``   the target node's SPIFFE ID, as its server certificate showed it
``sub``   the origin principal: a SPIFFE ID, ``oidc:<issuer>#<sub>`` or ``anonymous``
``grants`` dataset ids the origin's passport visas grant (OIDC users only)
``req``   base64url SHA-256 of the gRPC method path, a newline and the request bytes
``trace`` the trace id; ``iat``/``exp`` (at most :data:`MAX_LIFETIME_S`); ``jti``
========  ==============================================================================

The node verifies it with the public key of the caller's verified client certificate,
so only the holder of that certificate's key (:class:`mesh.security.origin_signing.OriginSigner`)
can have made it, for exactly this request, to exactly this node, for a few seconds; a
``jti`` is accepted once.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from mesh.security.identity import SpiffeId
from mesh.security.principal import Principal

log = logging.getLogger(__name__)

ORIGIN_TOKEN_KEY = "x-mesh-origin-token"  # noqa: S105 - a metadata key, not a secret
#: Longest a forwarding token may live: it covers one call, not a session.
MAX_LIFETIME_S = 30
#: Clock difference between two mesh hosts tolerated on ``iat``/``exp``.
LEEWAY_S = 5
#: Largest token accepted (a passport's grants travel in it).
MAX_TOKEN_BYTES = 16 * 1024


class OriginTokenError(Exception):
    """A forwarding token that does not prove what it claims (the origin is not trusted)."""


def request_digest(method_path: str, request: bytes) -> str:
    """What binds a token to one request: SHA-256 of method path, newline, bytes."""
    digest = hashlib.sha256(method_path.encode("ascii") + b"\n" + request).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def algorithm_for(key: object) -> str:
    """The JWS algorithm that matches a TLS key (public or private)."""
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}.get(
            key.curve.name, ""
        )
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    return ""


@dataclass(frozen=True)
class VerifiedOrigin:
    """What a valid token proved."""

    origin: Principal
    trace: str


@functools.lru_cache(maxsize=256)
def _public_key_of(pem: bytes) -> tuple[object, str]:
    # Cached: the same few forwarders call thousands of times; parsing costs ~50 us.
    try:
        key = x509.load_pem_x509_certificate(pem).public_key()
    except ValueError:
        return None, ""
    return key, algorithm_for(key)


class OriginVerifier:
    """Checks forwarding tokens addressed to this process (``own``: our SPIFFE ID)."""

    def __init__(self, own: SpiffeId, *, replay_window: int = 100_000) -> None:
        self.own = own
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._window = replay_window
        self._lock = threading.Lock()

    def verify(
        self, token: str, forwarder: SpiffeId, forwarder_pem: bytes, method_path: str, data: bytes
    ) -> VerifiedOrigin:
        """The origin ``token`` proves for this request, or :class:`OriginTokenError`."""
        if len(token) > MAX_TOKEN_BYTES:
            raise OriginTokenError("token too large")
        public_key, algorithm = _public_key_of(forwarder_pem)
        if not algorithm:
            raise OriginTokenError("forwarder certificate unreadable, or its key cannot sign")
        try:
            claims = jwt.decode(
                token,
                public_key,  # type: ignore[arg-type]
                algorithms=[algorithm],
                audience=str(self.own),
                issuer=str(forwarder),
                leeway=LEEWAY_S,
                options={"require": ["iss", "aud", "sub", "iat", "exp", "jti", "req"]},
            )
        except jwt.PyJWTError as exc:
            raise OriginTokenError(f"{type(exc).__name__}: {exc}") from None
        if not isinstance(claims["exp"], int) or claims["exp"] - claims["iat"] > MAX_LIFETIME_S:
            raise OriginTokenError("token lives longer than a forwarded call may")
        if claims["req"] != request_digest(method_path, data):
            raise OriginTokenError("token was made for another request")
        grants = claims.get("grants", [])
        if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
            raise OriginTokenError("grants must be a list of dataset ids")
        origin = Principal.parse(str(claims["sub"]), frozenset(grants))
        if origin is None:
            raise OriginTokenError("sub is not a principal name")
        self._once(f"{forwarder} {claims['jti']}", float(claims["exp"]))
        return VerifiedOrigin(origin, str(claims.get("trace", "")))

    def _once(self, jti: str, expires: float) -> None:
        """Refuse a token id seen before (until it expires: then ``exp`` refuses it)."""
        now = time.time()
        key = jti
        with self._lock:
            while self._seen and (
                next(iter(self._seen.values())) < now - LEEWAY_S or len(self._seen) > self._window
            ):
                self._seen.popitem(last=False)
            if key in self._seen:
                raise OriginTokenError("token replayed")
            self._seen[key] = expires
