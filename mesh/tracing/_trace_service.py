"""``mesh.v1.TraceService``: this node's buffered spans of one trace, for operators only."""

from __future__ import annotations

import logging
from typing import Any

import grpc

from mesh.errors import PermissionDeniedError
from mesh.plumbing.rpc import TRACE_SERVICE, parse_request, unary_handlers
from mesh.security.identity import SpiffeId, peer_identity
from mesh.tracing._setup import Telemetry
from mesh.tracing._spans import parse_trace_id, span_to_proto
from mesh.v1 import trace_service_pb2

log = logging.getLogger(__name__)

OPERATOR_ROLE = "operator"


def authorize_trace_reader(identity: SpiffeId | None) -> SpiffeId:
    """The caller if it is an operator; :class:`PermissionDeniedError` otherwise.

    ``identity`` must come from the verified client certificate
    (:func:`mesh.security.identity.peer_identity`); a plaintext caller has none and is refused.
    """
    if identity is None:
        raise PermissionDeniedError(
            "trace lookup needs an operator's client certificate (mTLS)",
            reason="OPERATOR_IDENTITY_REQUIRED",
        )
    if identity.role != OPERATOR_ROLE:
        raise PermissionDeniedError(
            f"{identity} is a {identity.role}; only operators may read spans",
            reason="OPERATOR_ROLE_REQUIRED",
            metadata={"identity": str(identity)},
        )
    return identity


def trace_service_handler(telemetry: Telemetry) -> grpc.GenericRpcHandler:
    """The generic handler to add with ``server.add_generic_rpc_handlers((...,))``.

    A node that holds no span of the trace answers OK with no spans: most countries
    in a mesh saw nothing of a given request.
    """

    async def get_trace(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        operator = authorize_trace_reader(peer_identity(context))
        trace_id = parse_trace_id(
            parse_request(trace_service_pb2.GetTraceRequest, request).trace_id
        )
        spans = telemetry.buffer.spans_of(trace_id) if telemetry.buffer is not None else []
        log.info(
            "trace %032x: %d spans given to %s",
            trace_id,
            len(spans),
            operator,
            extra={"fields": {"trace_id": f"{trace_id:032x}", "operator": str(operator)}},
        )
        return trace_service_pb2.GetTraceResponse(
            spans=[span_to_proto(s) for s in spans],
            node_id=telemetry.node_id,
            country=telemetry.country,
        )

    return unary_handlers({"GetTrace": get_trace}, TRACE_SERVICE)
