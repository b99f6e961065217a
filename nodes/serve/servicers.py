"""gRPC servicers of a country node: ``AlleleFrequencyService`` and ``CatalogService``.

Methods take raw request bytes (see :mod:`mesh.plumbing.rpc`) and return pre-encoded response
bytes from :class:`nodes.serve.lookup.LocalLookup`, adding the node's own outcome entry.
A node with ``[[peers]]`` answers ``SCOPE_MESH`` requests through
:class:`mesh.federation.MeshBackend` (its own datasets are one source, via
:meth:`NodeServicers.answer_locally`), unless the request came from another node
(hop metadata >= 1): then it answers locally, so a full mesh cannot loop.
Point lookups run inline on the event loop: an LMDB get costs microseconds, an
executor hop about 90 µs.

Every request is answered for the principal :mod:`mesh.plumbing.callctx` establishes: the caller
named by its client certificate, or the origin a forwarding gateway or node proved with
a signed token (then policies admit the intersection of the two). One audit record per
request names both, whatever the outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message

from mesh.federation import MeshBackend, hop_of
from mesh.model.wire import (
    BATCH_OUTCOMES_TAG,
    DATASETS_OUTCOMES_TAG,
    LOOKUP_OUTCOMES_TAG,
    REGION_OUTCOMES_TAG,
)
from mesh.plumbing import callctx
from mesh.plumbing.callctx import CallContext
from mesh.plumbing.rpc import ALLELE_SERVICE, CATALOG_SERVICE, parse_request, unary_handlers
from mesh.security.origin_token import OriginVerifier
from mesh.server.audit import AuditLog, audited
from mesh.tracing import (
    result_count,
    set_dataset_ids,
    set_query,
    set_result_count,
)
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from nodes.serve._variant_id_lookup import lookup_variant_id
from nodes.serve.lookup import LocalLookup, LookupResult, outcome_bytes

log = logging.getLogger("allelemesh.node.requests")


Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
#: Answers a parsed request (and its bytes) over local datasets: (response, audit result).
_Local = Callable[[Any, bytes, float, CallContext], tuple[bytes, LookupResult]]


class NodeServicers:
    """Binds a :class:`LocalLookup` to the wire."""

    def __init__(
        self,
        lookup: LocalLookup,
        *,
        log_queries: bool = False,
        mesh: MeshBackend | None = None,
        audit: AuditLog | None = None,
        verifier: OriginVerifier | None = None,
    ) -> None:
        self.lookup = lookup
        #: Checks forwarding tokens addressed to this node (None: plaintext, none accepted).
        self.verifier = verifier
        self.log_queries = log_queries
        self.audit = audit
        #: Dataset ids of an answer -> whether all of them opted in to query logging.
        self._query_logging: dict[tuple[str, ...], bool] = {}
        self._local_methods = self._build_local_methods()
        #: Set when the node has peers: answers SCOPE_MESH requests over the mesh.
        self.mesh = mesh

    def _federate(self, scope: int, context: Context) -> MeshBackend | None:
        """The mesh backend if this request should be fanned out, else None."""
        if self.mesh is None or scope != allele_pb2.SCOPE_MESH:
            return None
        if hop_of(context.invocation_metadata()) >= 1:
            return None  # forwarded by another node: never fan out again
        return self.mesh

    async def answer_locally(self, method: str, data: bytes) -> bytes:
        """Answer ``method`` over this node's own datasets (the mesh's local source).

        Runs inside the federated request's task, so the original caller's identity
        (bound by :meth:`_rpc`) decides what its datasets release.
        """
        started = time.perf_counter()
        caller = callctx.current()
        request_type, local = self._local_methods[method]
        return local(parse_request(request_type, data), data, started, caller)[0]

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """Generic handlers for both services."""
        allele = {
            "LookupVariant": self._rpc(
                "LookupVariant", lambda m, r, t: m.lookup_variant(r, timeout=t)
            ),
            "BatchLookupVariants": self._rpc(
                "BatchLookupVariants", lambda m, r, t: m.batch_lookup_variants(r, timeout=t)
            ),
            "SearchRegion": self._rpc(
                "SearchRegion", lambda m, r, t: m.search_region(r, timeout=t)
            ),
            "LookupVariantId": self._rpc(
                "LookupVariantId", lambda m, r, t: m.lookup_variant_id(r, timeout=t)
            ),
        }
        catalog = {
            "ListDatasets": self._rpc(
                "ListDatasets", lambda m, r, t: m.list_datasets(r, timeout=t)
            ),
            "GetDataset": self._rpc("GetDataset", lambda m, r, t: m.get_dataset(r, timeout=t)),
        }
        return [
            unary_handlers(allele, ALLELE_SERVICE, self.verifier),
            unary_handlers(catalog, CATALOG_SERVICE, self.verifier),
        ]

    def _build_local_methods(self) -> dict[str, tuple[type[Message], _Local]]:
        return {
            "LookupVariant": (allele_service_pb2.LookupVariantRequest, self._local_lookup),
            "BatchLookupVariants": (
                allele_service_pb2.BatchLookupVariantsRequest,
                self._local_batch,
            ),
            "SearchRegion": (allele_service_pb2.SearchRegionRequest, self._local_region),
            "LookupVariantId": (
                allele_service_pb2.LookupVariantIdRequest,
                self._local_variant_id,
            ),
            "ListDatasets": (catalog_service_pb2.ListDatasetsRequest, self._local_list),
            "GetDataset": (catalog_service_pb2.GetDatasetRequest, self._local_get),
        }

    def _rpc(
        self, method: str, federated: Callable[[MeshBackend, Any, float | None], Awaitable[Message]]
    ) -> Callable[[bytes, Context], Awaitable[bytes | Message]]:
        """One RPC: bind the caller, answer locally or over the mesh, audit the outcome."""
        request_type, local = self._local_methods[method]

        async def handle(data: bytes, context: Context) -> bytes | Message:
            started = time.perf_counter()
            call = callctx.current()  # bound by mesh.plumbing.rpc.guarded
            with audited(self.audit, call, method) as entry:
                try:
                    request = parse_request(request_type, data)
                    mesh = self._federate(getattr(request, "scope", 0), context)
                    if mesh is not None:
                        response = await federated(mesh, request, context.time_remaining())
                        entry.results = result_count(response)
                        return response
                    payload, result = local(request, data, started, call)
                    entry.results = result.frequency_count
                    entry.datasets = tuple(result.dataset_ids)
                    return payload
                finally:
                    # Once per RPC, never per variant: what the node's server span records.
                    set_result_count(entry.results)
                    set_dataset_ids(entry.datasets)

        return handle

    def _finish(
        self,
        method: str,
        started: float,
        result: LookupResult,
        field: bytes | None,
        describe: Callable[[], str],
    ) -> bytes:
        """The payload with the node's outcome as ``field`` (None: it already ends with it).

        ``describe`` gives the query's coordinates, asked for only where they may be
        recorded.
        """
        payload = result.payload
        if field is not None:
            identity = self.lookup.identity
            payload += outcome_bytes(
                identity, started, result.frequency_count, field, result.dataset_outcomes
            )
        may_log = self._may_log_query(result.dataset_ids)
        query = describe() if may_log else ""
        set_query(query, log_queries=may_log and bool(query))
        # Per-request lines are DEBUG: at thousands of lookups/s a log line each costs more
        # than the lookup. Operators get per-request records from the audit log and
        # traces, and rates from /metrics.
        if log.isEnabledFor(logging.DEBUG):
            extra = {
                "method": method,
                "datasets": ",".join(result.dataset_ids),
                "frequencies": result.frequency_count,
                "latency_ms": round((time.perf_counter() - started) * 1000.0, 3),
            }
            # Coordinates only where every dataset asked opted in (privacy default: off).
            if query and may_log:
                extra["query"] = query
            log.debug("%s answered", method, extra={"fields": extra})
        return payload

    def _may_log_query(self, dataset_ids: list[str]) -> bool:
        if self.log_queries:
            return True
        if not dataset_ids:
            return False
        key = tuple(dataset_ids)
        allowed = self._query_logging.get(key)
        if allowed is None:  # opt-ins are fixed at start: remember each combination
            store = self.lookup.store
            allowed = all(store.logs_queries(i) for i in dataset_ids)
            if len(self._query_logging) >= 1024:
                self._query_logging.clear()
            self._query_logging[key] = allowed
        return allowed

    def _local_lookup(
        self,
        request: allele_service_pb2.LookupVariantRequest,
        data: bytes,
        started: float,
        caller: CallContext,
    ) -> tuple[bytes, LookupResult]:
        result = self.lookup.lookup_variant(request, caller, data=data)

        def describe() -> str:
            v = request.variant
            return f"{v.chromosome}-{v.position}-{v.reference_bases}-{v.alternate_bases}"

        return self._finish("LookupVariant", started, result, LOOKUP_OUTCOMES_TAG, describe), result

    def _local_batch(
        self,
        request: allele_service_pb2.BatchLookupVariantsRequest,
        data: bytes,
        started: float,
        caller: CallContext,
    ) -> tuple[bytes, LookupResult]:
        outcome = self._batch_outcome(started)
        result = self.lookup.batch_lookup(request, caller, trailer=outcome, data=data)
        count = len(request.variants)
        payload = self._finish(
            "BatchLookupVariants", started, result, None, lambda: f"{count} variants"
        )
        return payload, result

    def _batch_outcome(self, started: float) -> Callable[[int, bytes], bytes]:
        """The trailer of a batch-shaped answer (a batch, an rsID): this node's outcome."""
        identity = self.lookup.identity

        def outcome(found: int, dataset_outcomes: bytes) -> bytes:
            return outcome_bytes(identity, started, found, BATCH_OUTCOMES_TAG, dataset_outcomes)

        return outcome

    def _local_variant_id(
        self,
        request: allele_service_pb2.LookupVariantIdRequest,
        data: bytes,
        started: float,
        caller: CallContext,
    ) -> tuple[bytes, LookupResult]:
        result = lookup_variant_id(self.lookup, request, caller, self._batch_outcome(started))
        payload = self._finish(
            "LookupVariantId", started, result, None, lambda: request.variant_id[:40]
        )
        return payload, result

    def _local_region(
        self,
        request: allele_service_pb2.SearchRegionRequest,
        data: bytes,
        started: float,
        caller: CallContext,
    ) -> tuple[bytes, LookupResult]:
        result = self.lookup.search_region(request, caller)
        r = request.region

        def describe() -> str:
            return f"{r.chromosome}:{r.start}-{r.end}"

        return self._finish("SearchRegion", started, result, REGION_OUTCOMES_TAG, describe), result

    def _local_list(
        self,
        request: catalog_service_pb2.ListDatasetsRequest,
        data: bytes,
        started: float,
        caller: CallContext,
    ) -> tuple[bytes, LookupResult]:
        response = self.lookup.catalog.list_datasets(request, caller)
        count = len(response.datasets)
        payload = response.SerializeToString() + outcome_bytes(
            self.lookup.identity, started, count, DATASETS_OUTCOMES_TAG
        )
        return payload, LookupResult(b"", count, [d.id for d in response.datasets])

    def _local_get(
        self,
        request: catalog_service_pb2.GetDatasetRequest,
        data: bytes,
        started: float,
        caller: CallContext,
    ) -> tuple[bytes, LookupResult]:
        dataset = self.lookup.catalog.get_dataset(request, caller)
        return dataset.SerializeToString(), LookupResult(b"", 1, [dataset.id])
