"""Who a request is being answered for, carried through one request's tasks.

A server binds a :class:`CallContext` when a request arrives. It knows

* the **caller**: the immediate peer's verified identity (its client certificate);
* the **principal**: whom the request is answered for. For a direct call it is the
  caller. When the caller may forward (a gateway; a node sending the hop metadata) and
  sent a forwarding token (:mod:`mesh.security.origin_token`) that verifies against its own
  certificate, for this very request and this node, it is the origin the token names,
  and the caller becomes the **forwarder**: dataset policies then admit the
  intersection of the two. A forwarded call whose token is missing or does not verify
  is answered for ``anonymous`` (never for what it claimed). A direct caller that sends
  origin metadata anyway has it ignored, and a warning is logged;
* ``origin``: the verified origin principal's name, else the caller's (budgets key on it).

Everything is resolved lazily and once per call: a request on an open dataset never
reads the auth context nor verifies a token. The fan-out runs in tasks that inherit the
context, so peers are told the principal (in a token of our own).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar, Token
from typing import Any

from mesh.security.identity import SpiffeId, spiffe_id_of_pem
from mesh.security.origin_token import ORIGIN_TOKEN_KEY, OriginTokenError, OriginVerifier
from mesh.security.principal import ANONYMOUS as ANONYMOUS_PRINCIPAL
from mesh.security.principal import Principal

log = logging.getLogger("allelemesh.security")

#: Unsigned origin metadata of older versions: never trusted, ignored and logged.
ORIGIN_METADATA_KEY = "x-mesh-origin"
#: Forwarded requests carry it (see :mod:`mesh.federation`); defined here, a lower layer.
HOP_METADATA_KEY = "x-mesh-hop"

#: How the principal was established (recorded in audit records).
DIRECT, VERIFIED, UNVERIFIED, IGNORED = "direct", "verified", "unverified", "ignored"


def hop_of(metadata: Sequence[tuple[str, Any]] | None) -> int:
    """The hop count in invocation metadata (0 when absent or unreadable)."""
    for key, value in metadata or ():
        if key == HOP_METADATA_KEY:
            try:
                return max(0, int(value))
            except (TypeError, ValueError):
                # A garbled hop is treated as forwarded: answering locally is always safe.
                return 1
    return 0


def may_forward(caller: SpiffeId | None, hop: int) -> bool:
    """Whether ``caller`` may speak for someone else: gateways; nodes on a mesh hop."""
    if caller is None:
        return False
    return caller.role == "gateway" or (caller.role == "node" and hop >= 1)


class CallContext:
    """The identities behind one request (see the module docstring)."""

    __slots__ = (
        "_caller",
        "_forwarder",
        "_grpc",
        "_metadata",
        "_method",
        "_pem",
        "_principal",
        "_request",
        "_resolved",
        "_status",
        "_trace_id",
        "_verifier",
    )

    def __init__(
        self,
        caller: SpiffeId | None = None,
        trace_id: str | None = "",
        *,
        principal: Principal | None = None,
        grpc_context: Any = None,
        metadata: Sequence[tuple[str, Any]] = (),
        verifier: OriginVerifier | None = None,
        method: str = "",
        request: bytes = b"",
    ) -> None:
        self._caller = caller
        #: ``None``: read from ``metadata`` when first asked (most calls never ask).
        self._trace_id = trace_id
        self._grpc = grpc_context
        self._pem = b""
        self._resolved = grpc_context is None
        self._metadata = metadata
        self._verifier = verifier
        self._method, self._request = method, request
        self._forwarder: Principal | None = None
        self._principal = principal
        self._status = "" if principal is None else DIRECT

    @property
    def trace_id(self) -> str:
        """The incoming ``traceparent``'s trace id (``""``: none)."""
        if self._trace_id is None:
            self._trace_id = trace_id_from(self._metadata)
        return self._trace_id

    # -- the immediate caller -------------------------------------------------------

    @property
    def caller(self) -> SpiffeId | None:
        """The immediate peer's verified identity (``None``: plaintext or no SPIFFE ID)."""
        if not self._resolved:
            pems = self._grpc.auth_context().get("x509_pem_cert") or []
            if len(pems) == 1:
                self._pem = bytes(pems[0])
                self._caller = spiffe_id_of_pem(self._pem)
            self._resolved = True
            self._grpc = None
        return self._caller

    @property
    def caller_name(self) -> str:
        """The caller's SPIFFE ID, or ``anonymous`` for a plaintext caller."""
        return str(self.caller) if self.caller is not None else "anonymous"

    # -- whom the request is answered for ---------------------------------------------

    @property
    def principal(self) -> Principal:
        """The verified origin (a forwarded call) or the caller (a direct one)."""
        if self._principal is None:
            self._resolve()
        assert self._principal is not None
        return self._principal

    @property
    def forwarder(self) -> Principal | None:
        """The caller, when it forwarded someone else's request (policies intersect)."""
        if self._principal is None:
            self._resolve()
        return self._forwarder

    @property
    def origin_status(self) -> str:
        """``direct``, ``verified``, ``unverified`` or ``ignored`` (for audit records)."""
        if self._principal is None:
            self._resolve()
        return self._status

    @property
    def origin(self) -> str:
        """The verified origin principal's name, else the immediate caller's (``""``: none)."""
        principal = self.principal
        if self._status == VERIFIED or (self._status == DIRECT and not principal.anonymous):
            return principal.name
        caller = self.caller
        return str(caller) if caller is not None else ""

    def _resolve(self) -> None:
        caller = self.caller
        token = legacy = None
        for key, value in self._metadata:
            if key == ORIGIN_TOKEN_KEY:
                token = value.decode("ascii", "replace") if isinstance(value, bytes) else value
            elif key == ORIGIN_METADATA_KEY:
                legacy = True
        hop = hop_of(self._metadata)
        me = Principal.of_spiffe(caller)
        self._principal, self._status = me, DIRECT
        if legacy:
            self._ignore("unsigned x-mesh-origin metadata", caller)
        forwards = may_forward(caller, hop) and self._verifier is not None
        if token is None:
            if forwards and hop >= 1:
                # A forwarder that does not say for whom: nobody in particular.
                self._forward(me, ANONYMOUS_PRINCIPAL, UNVERIFIED, "no forwarding token")
            return
        if not forwards or caller is None or self._verifier is None:
            self._ignore("a forwarding token from a caller that may not forward", caller)
            return
        try:
            verified = self._verifier.verify(
                str(token), caller, self._pem, self._method, self._request
            )
        except OriginTokenError as exc:
            self._forward(me, ANONYMOUS_PRINCIPAL, UNVERIFIED, str(exc))
            return
        self._forward(me, verified.origin, VERIFIED, "")

    def _forward(self, forwarder: Principal, origin: Principal, status: str, why: str) -> None:
        self._forwarder, self._principal, self._status = forwarder, origin, status
        if status == UNVERIFIED:
            self._warn("forwarded origin not verified", forwarder.name, why)

    def _ignore(self, what: str, caller: SpiffeId | None) -> None:
        self._status = IGNORED
        self._warn(f"{what} ignored", str(caller) if caller else "anonymous", what)

    def _warn(self, message: str, caller: str, why: str) -> None:
        # One JSON line per event (mesh.plumbing.logs renders `fields`); never coordinates.
        fields = {
            "event": "origin_refused",
            "caller": caller,
            "reason": why,
            "method": self._method,
            "trace_id": self.trace_id,
        }
        log.warning("%s from %s: %s", message, caller, why, extra={"fields": fields})


ANONYMOUS = CallContext(None, "")
_current: ContextVar[CallContext] = ContextVar("allelemesh_call", default=ANONYMOUS)


def current() -> CallContext:
    """The context of the request being answered (anonymous outside one)."""
    return _current.get()


def bind(context: CallContext) -> Token[CallContext]:
    """Make ``context`` current for this task and the tasks it starts."""
    return _current.set(context)


def reset(token: Token[CallContext]) -> None:
    """Undo :func:`bind`."""
    _current.reset(token)


def trace_id_from(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """The trace id of a W3C ``traceparent`` in metadata (``""`` when absent or malformed)."""
    for key, value in metadata or ():
        if key == "traceparent":
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
            parts = text.split("-")
            if len(parts) == 4 and len(parts[1]) == 32:
                return parts[1]
    return ""


def from_grpc(
    context: Any,
    method: str = "",
    request: bytes = b"",
    verifier: OriginVerifier | None = None,
) -> CallContext:
    """The call context of an incoming gRPC request (identities are resolved lazily).

    ``method`` is the full gRPC path and ``request`` the raw request bytes: a forwarding
    token must have been made for exactly these.
    """
    metadata = tuple(context.invocation_metadata() or ())
    return CallContext(
        None,
        None,
        grpc_context=context,
        metadata=metadata,
        verifier=verifier,
        method=method,
        request=request,
    )
