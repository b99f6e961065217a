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
from dataclasses import dataclass
from typing import Any

from mesh.identity import SpiffeId, peer_identity

ORIGIN_METADATA_KEY = "x-mesh-origin"
#: Longest origin identity accepted from metadata (it only goes to audit logs).
_MAX_ORIGIN = 512


@dataclass(frozen=True, slots=True)
class CallContext:
    """The identities behind one request."""

    caller: SpiffeId | None
    origin: str
    trace_id: str = ""

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
    """The call context of an incoming gRPC request."""
    caller = peer_identity(context)
    metadata = context.invocation_metadata()
    origin = origin_from(metadata) or (str(caller) if caller else "")
    return CallContext(caller, origin, trace_id_from(metadata))
