"""What the fan-out asks: a *source* is one node's datasets, local or behind a channel.

Every source answers a method with response bytes or raises :class:`SourceCallError`
carrying a ``google.rpc.Status``; the fan-out turns that status into the source's
``NodeOutcome``. A node's own datasets are a :class:`LocalSource` (its servicer's byte
path, no network), a peer is a :class:`mesh.federation._peers.PeerSource`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import grpc
from google.rpc import status_pb2

from mesh.errors import MeshError, code_of, status_from_code
from mesh.plumbing.rpc import METHOD_PATHS

__all__ = ["METHOD_PATHS", "LocalSource", "Source", "SourceCallError"]

# HOP_METADATA_KEY counts how many mesh hops a request has travelled. The fan-out sends
# ``1``; a node that receives ``>= 1`` answers from its own datasets only, so a full mesh
# where every node lists every other cannot loop (defined in mesh.plumbing.callctx, a lower layer).


class SourceCallError(Exception):
    """A source did not answer; ``status`` says why (it becomes the source's outcome)."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status

    @classmethod
    def of(cls, code: grpc.StatusCode, message: str) -> SourceCallError:
        """An error with a plain status."""
        return cls(status_from_code(code, message))

    @property
    def code(self) -> grpc.StatusCode:
        """The gRPC status code."""
        return code_of(self.status.code)


class Source(Protocol):
    """One node's datasets as the fan-out sees them."""

    @property
    def id(self) -> str:
        """The node id reported in outcomes."""
        ...

    @property
    def country(self) -> str:
        """ISO 3166-1 alpha-2 code reported in outcomes."""
        ...

    @property
    def timeout_s(self) -> float:
        """Longest this source may take for one call (``inf`` when unbounded)."""
        ...

    async def call(self, method: str, request: bytes, *, deadline: float) -> bytes:
        """Answer ``method`` (e.g. ``"LookupVariant"``) before loop time ``deadline``."""
        ...

    async def close(self) -> None:
        """Release channels and background tasks."""
        ...


#: ``(method, request bytes) -> response bytes``, raising :class:`MeshError` on bad input.
LocalHandler = Callable[[str, bytes], Awaitable[bytes]]


class LocalSource:
    """A node's own datasets, answered by its servicer's byte path (no network, no hop)."""

    def __init__(self, node_id: str, country: str, handler: LocalHandler) -> None:
        self._id, self._country, self._handler = node_id, country, handler

    @property
    def id(self) -> str:
        """The node's id."""
        return self._id

    @property
    def country(self) -> str:
        """The node's country."""
        return self._country

    @property
    def timeout_s(self) -> float:
        """A local answer is bounded by the caller's deadline only."""
        return math.inf

    async def call(self, method: str, request: bytes, *, deadline: float) -> bytes:
        """Run the local handler; errors become a status like a peer's would."""
        try:
            return await self._handler(method, request)
        except MeshError as error:
            raise SourceCallError(error.to_status()) from None

    async def close(self) -> None:
        """Nothing to release."""
