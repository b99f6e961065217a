"""gRPC servicers of a country node: ``AlleleFrequencyService`` and ``CatalogService``.

Methods take raw request bytes (see :mod:`mesh.rpc`) and return pre-encoded response
bytes from :class:`nodes.lookup.LocalLookup`, adding the node's own outcome entry.
A node with ``[[peers]]`` answers ``SCOPE_MESH`` requests through
:class:`mesh.federation.MeshBackend` (its own datasets are one source, via
:meth:`NodeServicers.answer_locally`), unless the request came from another node
(hop metadata >= 1): then it answers locally, so a full mesh cannot loop.
Point lookups run inline on the event loop: an LMDB get costs microseconds, an
executor hop about 90 µs.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message

from mesh import wire
from mesh.federation import MeshBackend, hop_of
from mesh.rpc import parse_request, unary_handlers
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from nodes.lookup import LocalLookup, LookupResult, outcome_bytes

log = logging.getLogger("allelemesh.node.requests")

ALLELE_SERVICE = "mesh.v1.AlleleFrequencyService"
CATALOG_SERVICE = "mesh.v1.CatalogService"

_OUTCOMES_FIELD_2 = wire.tag(2, wire.WIRE_LEN)
_OUTCOMES_FIELD_3 = wire.tag(3, wire.WIRE_LEN)

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class NodeServicers:
    """Binds a :class:`LocalLookup` to the wire."""

    def __init__(
        self, lookup: LocalLookup, *, log_queries: bool = False, mesh: MeshBackend | None = None
    ) -> None:
        self.lookup = lookup
        self.log_queries = log_queries
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
        """Answer ``method`` over this node's own datasets (the mesh's local source)."""
        started = time.perf_counter()
        if method == "LookupVariant":
            request = parse_request(allele_service_pb2.LookupVariantRequest, data)
            return self._local_lookup(request, started)
        if method == "BatchLookupVariants":
            batch = parse_request(allele_service_pb2.BatchLookupVariantsRequest, data)
            return self._local_batch(batch, started)
        if method == "SearchRegion":
            region = parse_request(allele_service_pb2.SearchRegionRequest, data)
            return self._local_region(region, started)
        if method == "ListDatasets":
            listing = parse_request(catalog_service_pb2.ListDatasetsRequest, data)
            return self._local_list(listing, started)
        if method == "GetDataset":
            get = parse_request(catalog_service_pb2.GetDatasetRequest, data)
            return self.lookup.get_dataset(get).SerializeToString()
        raise ValueError(f"unknown method {method}")

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """Generic handlers for both services."""
        return [
            unary_handlers(
                {
                    "LookupVariant": self.lookup_variant,
                    "BatchLookupVariants": self.batch_lookup_variants,
                    "SearchRegion": self.search_region,
                },
                ALLELE_SERVICE,
            ),
            unary_handlers(
                {"ListDatasets": self.list_datasets, "GetDataset": self.get_dataset},
                CATALOG_SERVICE,
            ),
        ]

    def _finish(
        self, method: str, started: float, result: LookupResult, field: bytes, query: str
    ) -> bytes:
        identity = self.lookup.identity
        payload = result.payload + outcome_bytes(identity, started, result.frequency_count, field)
        if log.isEnabledFor(logging.INFO):
            extra = {
                "method": method,
                "datasets": ",".join(result.dataset_ids),
                "frequencies": result.frequency_count,
                "latency_ms": round((time.perf_counter() - started) * 1000.0, 3),
            }
            # Coordinates only where every dataset asked opted in (privacy default: off).
            if query and self._may_log_query(result.dataset_ids):
                extra["query"] = query
            log.info("%s answered", method, extra={"fields": extra})
        return payload

    def _may_log_query(self, dataset_ids: list[str]) -> bool:
        if self.log_queries:
            return True
        store = self.lookup.store
        return bool(dataset_ids) and all(store.logs_queries(i) for i in dataset_ids)

    async def lookup_variant(self, data: bytes, context: Context) -> bytes | Message:
        started = time.perf_counter()
        request = parse_request(allele_service_pb2.LookupVariantRequest, data)
        mesh = self._federate(request.scope, context)
        if mesh is not None:
            return await mesh.lookup_variant(request, timeout=context.time_remaining())
        return self._local_lookup(request, started)

    def _local_lookup(
        self, request: allele_service_pb2.LookupVariantRequest, started: float
    ) -> bytes:
        result = self.lookup.lookup_variant(request)
        v = request.variant
        query = f"{v.chromosome}-{v.position}-{v.reference_bases}-{v.alternate_bases}"
        return self._finish("LookupVariant", started, result, _OUTCOMES_FIELD_2, query)

    async def batch_lookup_variants(self, data: bytes, context: Context) -> bytes | Message:
        started = time.perf_counter()
        request = parse_request(allele_service_pb2.BatchLookupVariantsRequest, data)
        mesh = self._federate(request.scope, context)
        if mesh is not None:
            return await mesh.batch_lookup_variants(request, timeout=context.time_remaining())
        return self._local_batch(request, started)

    def _local_batch(
        self, request: allele_service_pb2.BatchLookupVariantsRequest, started: float
    ) -> bytes:
        result = self.lookup.batch_lookup(request)
        query = f"{len(request.variants)} variants"
        return self._finish("BatchLookupVariants", started, result, _OUTCOMES_FIELD_2, query)

    async def search_region(self, data: bytes, context: Context) -> bytes | Message:
        started = time.perf_counter()
        request = parse_request(allele_service_pb2.SearchRegionRequest, data)
        mesh = self._federate(request.scope, context)
        if mesh is not None:
            return await mesh.search_region(request, timeout=context.time_remaining())
        return self._local_region(request, started)

    def _local_region(
        self, request: allele_service_pb2.SearchRegionRequest, started: float
    ) -> bytes:
        result = self.lookup.search_region(request)
        r = request.region
        query = f"{r.chromosome}:{r.start}-{r.end}"
        return self._finish("SearchRegion", started, result, _OUTCOMES_FIELD_3, query)

    async def list_datasets(self, data: bytes, context: Context) -> bytes | Message:
        started = time.perf_counter()
        request = parse_request(catalog_service_pb2.ListDatasetsRequest, data)
        mesh = self._federate(request.scope, context)
        if mesh is not None:
            return await mesh.list_datasets(request, timeout=context.time_remaining())
        return self._local_list(request, started)

    def _local_list(
        self, request: catalog_service_pb2.ListDatasetsRequest, started: float
    ) -> bytes:
        response = self.lookup.list_datasets(request)
        payload = response.SerializeToString()
        return payload + outcome_bytes(
            self.lookup.identity, started, len(response.datasets), _OUTCOMES_FIELD_3
        )

    async def get_dataset(self, data: bytes, context: Context) -> bytes | Message:
        request = parse_request(catalog_service_pb2.GetDatasetRequest, data)
        mesh = self._federate(request.scope, context)
        if mesh is not None:
            return await mesh.get_dataset(request, timeout=context.time_remaining())
        return self.lookup.get_dataset(request).SerializeToString()
