"""The forwarder's half of :mod:`mesh.security.origin_token`: signing with our own ``[tls]`` key.

Kept apart from verification, which the server plumbing needs below the configuration
layer.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mesh.config import TlsConfig
from mesh.security.identity import SpiffeId, spiffe_id_of_certificate
from mesh.security.origin_token import MAX_LIFETIME_S, algorithm_for, request_digest
from mesh.security.principal import Principal
from mesh.security.tls import CredentialWatcher

log = logging.getLogger(__name__)


class OriginSigner:
    """Signs forwarding tokens with this process's ``[tls]`` key (reloaded on rotation)."""

    def __init__(self, tls: TlsConfig) -> None:
        self._tls = tls
        self._watcher = CredentialWatcher(tls)
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        key = serialization.load_pem_private_key(self._tls.key.read_bytes(), password=None)
        cert = x509.load_pem_x509_certificates(self._tls.cert.read_bytes())[0]
        self._key, self._algorithm = key, algorithm_for(key)
        self.identity = spiffe_id_of_certificate(cert)
        #: This process as a principal: the origin of calls it makes on its own behalf.
        self.own_principal = Principal.of_spiffe(self.identity)

    def sign(
        self, origin: Principal, audience: SpiffeId, method_path: str, request: bytes, trace: str
    ) -> str | None:
        """A token for one call to ``audience`` (None when our key or identity cannot sign)."""
        if self._watcher.changed():
            with self._lock:
                try:
                    self._load()
                except (OSError, ValueError):  # half-rotated: keep the old pair this time
                    log.warning("forwarding-token key not reloaded yet: files mid-rotation")
        if not self._algorithm or self.identity is None:
            return None
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": str(self.identity),
            "aud": str(audience),
            "sub": origin.name,
            "iat": now,
            "exp": now + MAX_LIFETIME_S,
            "jti": secrets.token_urlsafe(12),
            "req": request_digest(method_path, request),
            "trace": trace,
        }
        if origin.grants:
            claims["grants"] = sorted(origin.grants)
        return jwt.encode(claims, self._key, algorithm=self._algorithm)  # type: ignore[arg-type]
