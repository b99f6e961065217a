"""Who is calling the HTTP API: a bearer token, a mesh client certificate, or nobody.

:class:`CallerIdentity` (ASGI middleware) binds a :class:`mesh.plumbing.callctx.CallContext` for
each request, so the fan-out forwards the right principal to every node (signed, see
:mod:`mesh.security.origin_token`):

1. ``Authorization: Bearer <JWT>``: the OIDC user ``oidc:<issuer>#<sub>`` with the
   datasets their passport visas grant (:mod:`gateway.http.oidc`); a token that does
   not validate is ``401`` with ``WWW-Authenticate: Bearer error="invalid_token"`` and a
   problem body (a Beacon error under ``/api``), whatever certificate came with it;
2. else the SPIFFE ID of the verified client certificate (ASGI ``tls`` extension, filled
   in by :mod:`gateway.http.server`);
3. else ``anonymous``: only datasets open to everybody.

It also writes the gateway's audit record of each request (route template, never the
path: a path can hold coordinates).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.oidc import BearerAuthenticator, BearerError, KeysUnavailableError
from gateway.http.problems import ProblemError, problem_response
from mesh.plumbing import callctx
from mesh.plumbing.callctx import UNVERIFIED, CallContext
from mesh.security.identity import SpiffeId, spiffe_id_of_pem
from mesh.security.principal import ANONYMOUS_NAME, Principal
from mesh.security.trust import IdentityRefusedError, TrustStore
from mesh.server.audit import AuditLog, AuditRecord
from mesh.tracing import current_trace_id

log = logging.getLogger("allelemesh.security")


def client_certificate_identity(scope: Scope, trust: TrustStore | None = None) -> SpiffeId | None:
    """The SPIFFE ID of the verified client certificate of this connection, if any.

    With ``trust`` (the gateway's ``[tls]``), the certificate is held to the same rules as
    on every gRPC port (:mod:`mesh.security.trust`): one SPIFFE ID, issued by its own country's
    CA, not revoked, under the current bundle; a refusal raises
    :class:`~mesh.security.trust.IdentityRefusedError`.
    """
    tls = scope.get("extensions", {}).get("tls") or {}
    chain = [
        p.encode("ascii") if isinstance(p, str) else p for p in tls.get("client_cert_chain") or []
    ]
    if not chain:
        return None
    if trust is not None:
        return trust.check_pem(chain[0], b"".join(chain[1:]))
    return spiffe_id_of_pem(chain[0])


def _bearer(scope: Scope) -> str | None:
    """The ``Authorization`` header's value, or None without one."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            return text
    return None


class CallerIdentity:
    """ASGI middleware: authenticate the caller, bind it, audit the request."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: BearerAuthenticator | None = None,
        audit: AuditLog | None = None,
        trust: TrustStore | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.audit = audit
        self.trust = trust

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            certificate = client_certificate_identity(scope, self.trust)
        except IdentityRefusedError as exc:
            await self._refuse_certificate(scope, receive, send, exc)
            return
        principal = Principal.of_spiffe(certificate)
        header = _bearer(scope)
        if header is not None:
            try:
                principal = await self._authenticate(header)
            except BearerError as exc:
                await self._refuse(scope, receive, send, str(exc), certificate)
                return
            except KeysUnavailableError as exc:
                problem = ProblemError(503, str(exc), reason="OIDC_KEYS_UNAVAILABLE")
                await problem_response(Request(scope, receive), problem)(scope, receive, send)
                return
        call = CallContext(certificate, current_trace_id(), principal=principal)
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        token = callctx.bind(call)
        try:
            await self.app(scope, receive, observe)
        finally:
            callctx.reset(token)
            self._audit(scope, call, str(status))

    async def _authenticate(self, header: str) -> Principal:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise BearerError("the Authorization header must be `Bearer <token>`")
        if self.authenticator is None:
            raise BearerError("this gateway accepts no bearer tokens (no [[http.oidc]] issuer)")
        return await self.authenticator.authenticate(token.strip())

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, why: str, certificate: SpiffeId | None
    ) -> None:
        log.warning(
            "bearer token refused: %s",
            why,
            extra={"fields": {"event": "bearer_refused", "reason": why,
                              "certificate": str(certificate) if certificate else ""}},
        )  # fmt: skip
        request = Request(scope, receive)
        problem = ProblemError(401, f"invalid bearer token: {why}", reason="INVALID_TOKEN")
        response = problem_response(request, problem)
        description = why.replace('"', "'").replace("\\", "/")
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{description}"'
        )
        await response(scope, receive, send)
        if self.audit is not None:
            peer = str(certificate) if certificate else ANONYMOUS_NAME
            self.audit.write(
                AuditRecord(peer, UNVERIFIED, _method(scope), (), None, "401",
                            current_trace_id(), "", UNVERIFIED)
            )  # fmt: skip

    async def _refuse_certificate(
        self, scope: Scope, receive: Receive, send: Send, refused: IdentityRefusedError
    ) -> None:
        """403 for a client certificate the trust store refuses (revoked, wrong country...)."""
        log.warning(
            "client certificate refused: %s",
            refused.message,
            extra={"fields": {"event": "certificate_refused", "reason": refused.reason}},
        )
        problem = ProblemError(
            403, f"client certificate refused: {refused.message}", reason=refused.reason
        )
        await problem_response(Request(scope, receive), problem)(scope, receive, send)
        if self.audit is not None:
            self.audit.write(
                AuditRecord(UNVERIFIED, UNVERIFIED, _method(scope), (), None, "403",
                            current_trace_id(), "", UNVERIFIED)
            )  # fmt: skip

    def _audit(self, scope: Scope, call: CallContext, status: str) -> None:
        if self.audit is not None:
            self.audit.write(
                AuditRecord.of_call(call, _method(scope), (), None, status, current_trace_id())
            )


def _method(scope: Scope) -> str:
    """``GET /v1/variants/{variant}``: the route template, never the path itself."""
    template = getattr(scope.get("route"), "path", None) or "-"
    return f"{scope.get('method', '')} {template}"
