"""Server-side glue shared by node and gateway servicers.

Servicers raise :class:`mesh.errors.MeshError`; :func:`guarded` turns it into a gRPC
status carrying ``google.rpc`` details in ``grpc-status-details-bin`` (readable with
``grpc_status.rpc_status.from_call``). Anything else is a bug: it is logged with its
traceback and answered ``INTERNAL`` without leaking internals to the caller.

Requests are parsed here rather than by grpc's deserializer hook, because a
deserializer that raises makes grpc answer ``INTERNAL``; malformed bytes are a bad
request, not a server fault.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from mesh.errors import STATUS_DETAILS_KEY, InvalidArgumentError, MeshError
from mesh.plumbing import callctx
from mesh.security.origin_token import OriginVerifier
from mesh.v1 import allele_service_pb2, catalog_service_pb2, gene_service_pb2, trace_service_pb2

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

__all__ = [
    "ALLELE_SERVICE",
    "CATALOG_SERVICE",
    "GENE_SERVICE",
    "METHOD_PATHS",
    "STATUS_DETAILS_KEY",
    "TRACE_SERVICE",
    "abort_with",
    "guarded",
    "parse_request",
    "unary_handlers",
]

# The services' names, read once from the generated descriptors so they cannot drift
# from the protos.
_ALLELE = allele_service_pb2.DESCRIPTOR.services_by_name["AlleleFrequencyService"]
_CATALOG = catalog_service_pb2.DESCRIPTOR.services_by_name["CatalogService"]
ALLELE_SERVICE: str = _ALLELE.full_name
CATALOG_SERVICE: str = _CATALOG.full_name
TRACE_SERVICE: str = trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name
#: Served by gateways only (they resolve genes; nodes see regions).
GENE_SERVICE: str = gene_service_pb2.DESCRIPTOR.services_by_name["GeneService"].full_name

#: Method name -> full gRPC path, for every method of the allele and catalogue services.
METHOD_PATHS: dict[str, str] = {
    method.name: f"/{service.full_name}/{method.name}"
    for service in (_ALLELE, _CATALOG)
    for method in service.methods
}


def parse_request(message_type: type[M], data: bytes) -> M:
    """Parse request bytes, answering ``INVALID_ARGUMENT`` for malformed input."""
    try:
        return message_type.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidArgumentError(
            "",
            f"request is not a valid {message_type.DESCRIPTOR.full_name}: {exc}",
            reason="MALFORMED_REQUEST",
        ) from None


async def abort_with(context: grpc.aio.ServicerContext[Any, Any], error: MeshError) -> None:
    """End the RPC with ``error``'s status and rich details."""
    status = error.to_status()
    await context.abort(
        error.code,
        error.message,
        trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
    )


def serialize_response(response: bytes | Message) -> bytes:
    """Response serializer that passes pre-encoded bytes through untouched."""
    if isinstance(response, bytes):
        return response
    return response.SerializeToString()


Handler = Callable[[bytes, grpc.aio.ServicerContext[Any, Any]], Awaitable[bytes | Message]]
R = TypeVar("R")


def guarded(method: str, handler: Handler, verifier: OriginVerifier | None = None) -> Handler:
    """Wrap a servicer method so errors become statuses, never stack traces.

    ``verifier`` checks forwarding tokens addressed to this server (None: none accepted).
    """
    path = f"/{method}"

    async def call(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes | Message:
        # Who is asking, for policies, audit and the peers we forward to (mesh.plumbing.callctx).
        token = callctx.bind(callctx.from_grpc(context, path, request, verifier))
        try:
            return await handler(request, context)
        except MeshError as error:
            await abort_with(context, error)
        except grpc.aio.AbortError:
            raise
        except Exception:
            log.exception("%s failed with an unexpected error", method)
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")
        finally:
            callctx.reset(token)
        raise AssertionError("unreachable: abort raises")  # pragma: no cover

    return call


def unary_handlers(
    handlers: dict[str, Handler], service: str, verifier: OriginVerifier | None = None
) -> grpc.GenericRpcHandler:
    """Return a generic handler for ``service`` whose methods take raw request bytes."""
    method_handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            guarded(f"{service}/{name}", handler, verifier),
            request_deserializer=None,
            response_serializer=serialize_response,
        )
        for name, handler in handlers.items()
    }
    return grpc.method_handlers_generic_handler(service, method_handlers)
