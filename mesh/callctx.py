"""Who a request is being answered for, carried through one request's tasks.

A server binds a :class:`CallContext` when a request arrives: the immediate peer's
verified identity (from its client certificate; authorization reads only this) and
the originating identity, which a gateway forwards in ``x-mesh-origin`` metadata for
audit logs (informative only: it is never trusted for authorization). The fan-out
runs in tasks that inherit the context, so a node's own datasets, answered as one
source of a federated request, are released under the original caller's policy and
the peers are told the origin.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar, Token
from typing import Any

from mesh.identity import SpiffeId, peer_identity

ORIGIN_METADATA_KEY = "x-mesh-origin"
#: Longest origin identity accepted from metadata (it only goes to audit logs).
_MAX_ORIGIN = 512


class CallContext:
    """The identities behind one request.

    The caller is read from the TLS auth context only when something asks (a dataset
    policy, the audit log, a forwarded origin): most requests on an open dataset never
    pay for it.
    """

    __slots__ = ("_caller", "_grpc", "_origin", "_resolved", "trace_id")

    def __init__(
        self,
        caller: SpiffeId | None,
        origin: str,
        trace_id: str = "",
        *,
        grpc_context: Any = None,
    ) -> None:
        self._caller = caller
        self._origin = origin
        self.trace_id = trace_id
        self._grpc = grpc_context
        self._resolved = grpc_context is None

    @property
    def caller(self) -> SpiffeId | None:
        """The immediate peer's verified identity (``None``: plaintext or no SPIFFE ID)."""
        if not self._resolved:
            self._caller = peer_identity(self._grpc)
            self._resolved = True
            self._grpc = None
        return self._caller

    @property
    def origin(self) -> str:
        """Who the request started with: forwarded in metadata, else the caller."""
        if self._origin:
            return self._origin
        caller = self.caller
        return str(caller) if caller is not None else ""

    @property
    def caller_name(self) -> str:
        """The caller's SPIFFE ID, or ``anonymous`` for a plaintext caller."""
        return str(self.caller) if self.caller is not None else "anonymous"


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


def origin_from(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """The forwarded originating identity, if any."""
    for key, value in metadata or ():
        if key == ORIGIN_METADATA_KEY:
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            return text[:_MAX_ORIGIN]
    return ""


def trace_id_from(metadata: Sequence[tuple[str, Any]] | None) -> str:
    """The trace id of a W3C ``traceparent`` in metadata (``""`` when absent or malformed)."""
    for key, value in metadata or ():
        if key == "traceparent":
            text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
            parts = text.split("-")
            if len(parts) == 4 and len(parts[1]) == 32:
                return parts[1]
    return ""


def from_grpc(context: Any) -> CallContext:
    """The call context of an incoming gRPC request (the caller is resolved lazily)."""
    metadata = context.invocation_metadata()
    return CallContext(None, origin_from(metadata), trace_id_from(metadata), grpc_context=context)
