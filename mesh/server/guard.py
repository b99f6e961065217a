"""The peer guard: every call on an mTLS port is checked by the trust store before any handler.

gRPC verifies a client's chain once, at the handshake. :class:`PeerGuard` (a server
interceptor, the earliest point gRPC Python offers: interceptors never see the
connection, so the check wraps the method handler) asks the server's
:class:`~mesh.security.trust.TrustStore` on **every call** whether the caller's leaf may be
anyone: exactly one SPIFFE ID, issued by a CA of that ID's country, not revoked, and
issued by a CA still in the (re-read) trust bundle. A refusal is ``UNAUTHENTICATED``
with the reason in ``google.rpc.ErrorInfo`` (``IDENTITY_AMBIGUOUS``,
``ISSUER_COUNTRY_MISMATCH``, ``CERTIFICATE_REVOKED``, ``ISSUER_UNTRUSTED``, ...), and no
handler runs. So a revoked certificate, or one whose CA left the bundle, loses access
within the store's recheck interval even on a connection opened before the change.

The verdict is cached per certificate and trust generation: a call pays a dict lookup.
While the call runs, :data:`mesh.security.identity.active_verifier` is this store, so
:func:`mesh.security.identity.peer_identity` decides by the same rules.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc

from mesh.plumbing.rpc import abort_with
from mesh.security.identity import active_verifier
from mesh.security.trust import IdentityRefusedError, TrustStore

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class PeerGuard(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses calls whose client certificate the trust store does not accept."""

    def __init__(self, store: TrustStore) -> None:
        self._store = store
        self._wrapped: dict[int, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        cached = self._wrapped.get(id(handler))
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self.wrap(handler)
        if len(self._wrapped) >= 1024:
            self._wrapped.clear()
        self._wrapped[id(handler)] = (handler, wrapped)
        return wrapped

    def wrap(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """``handler`` with every behaviour checking the caller first.

        The tracing interceptor calls this itself (one interceptor per call instead of
        two: :func:`mesh.tracing.server_interceptor` with ``guard``).
        """
        return handler._replace(
            unary_unary=self._unary(handler.unary_unary),
            stream_unary=self._unary(handler.stream_unary),
            unary_stream=self._stream(handler.unary_stream),
            stream_stream=self._stream(handler.stream_stream),
        )

    def _refusal(self, context: Context) -> IdentityRefusedError | None:
        """Why the caller's certificate is not accepted now (``None``: it is)."""
        auth = context.auth_context()
        pems = auth.get("x509_pem_cert") or []
        if len(pems) != 1:
            return None  # no client certificate: the TLS layer already demanded one
        chain = b"".join(bytes(p) for p in auth.get("x509_pem_cert_chain") or [])
        try:
            self._store.check_pem(bytes(pems[0]), chain)
        except IdentityRefusedError as error:
            return IdentityRefusedError(
                f"client certificate refused: {error.message}",
                reason=error.reason,
                metadata=error.metadata,
            )
        return None

    async def _admit(self, context: Context) -> None:
        """Abort the call unless the caller's certificate is accepted now."""
        refusal = self._refusal(context)
        if refusal is not None:
            await abort_with(context, refusal)

    def _unary(self, behavior: Any) -> Any:
        if behavior is None:
            return None

        async def guarded(request: Any, context: Context) -> Any:
            refusal = self._refusal(context)  # no coroutine per call for the common case
            if refusal is not None:
                await abort_with(context, refusal)
            token = active_verifier.set(self._store)
            try:
                result = behavior(request, context)
                return await result if inspect.isawaitable(result) else result
            finally:
                active_verifier.reset(token)

        return guarded

    def _stream(self, behavior: Any) -> Any:
        if behavior is None:
            return None

        async def guarded(request: Any, context: Context) -> AsyncIterator[Any]:
            await self._admit(context)
            token = active_verifier.set(self._store)
            try:
                result = behavior(request, context)
                if inspect.isasyncgen(result):
                    async for item in result:
                        yield item
                elif inspect.isawaitable(result):
                    await result  # a handler that writes with context.write
                else:
                    for item in result:
                        yield item
            finally:
                # A generator closed from another task runs this in another context.
                with contextlib.suppress(ValueError):
                    active_verifier.reset(token)

        return guarded
