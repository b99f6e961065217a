"""gRPC servicers of the gateway: the node's services, answered over the whole mesh.

``GeneService`` is the gateway's own: it resolves the gene and searches its span
(:mod:`gateway.genes`); nodes never see a gene, only the region.

A gateway has no datasets of its own, so every request is fanned out whatever its
``scope``; the work is :class:`mesh.federation.MeshBackend`'s. A request that carries
the hop metadata (another node or gateway forwarding) gets an empty local answer,
never a second fan-out, so a gateway listed as a peer cannot create a loop.

The caller (its client certificate) is the principal the fan-out forwards, signed, to
every node; with ``[audit]``, one record per request names it.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc
from google.protobuf.message import Message

from gateway.genes import GeneSearch
from mesh.federation import MeshBackend, hop_of
from mesh.plumbing import callctx
from mesh.plumbing.rpc import (
    ALLELE_SERVICE,
    CATALOG_SERVICE,
    GENE_SERVICE,
    Handler,
    parse_request,
    unary_handlers,
)
from mesh.server.audit import AuditLog, audited
from mesh.tracing import result_count, set_result_count
from mesh.v1 import allele_service_pb2, catalog_service_pb2, gene_service_pb2

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


def _forwarded(context: Context) -> bool:
    return hop_of(context.invocation_metadata()) >= 1


class GatewayServicers:
    """Binds a :class:`MeshBackend` to the wire."""

    def __init__(
        self, backend: MeshBackend, audit: AuditLog | None = None, genes: GeneSearch | None = None
    ) -> None:
        self.backend = backend
        self.audit = audit
        self.genes = genes or GeneSearch(backend, tokens=backend.page_tokens)

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """Generic handlers for both services."""
        audited = self._audited
        return [
            unary_handlers(
                {
                    "LookupVariant": audited("LookupVariant", self.lookup_variant),
                    "BatchLookupVariants": audited(
                        "BatchLookupVariants", self.batch_lookup_variants
                    ),
                    "SearchRegion": audited("SearchRegion", self.search_region),
                    "LookupVariantId": audited("LookupVariantId", self.lookup_variant_id),
                },
                ALLELE_SERVICE,
            ),
            unary_handlers(
                {
                    "ListDatasets": audited("ListDatasets", self.list_datasets),
                    "GetDataset": audited("GetDataset", self.get_dataset),
                },
                CATALOG_SERVICE,
            ),
            unary_handlers(
                {"SearchGene": audited("SearchGene", self.search_gene)},
                GENE_SERVICE,
            ),
        ]

    def _audited(self, method: str, handler: Handler) -> Handler:
        """``handler``, writing one audit record per call (when the gateway keeps one)."""
        if self.audit is None:
            return handler
        audit = self.audit

        async def handle(data: bytes, context: Context) -> bytes | Message:
            with audited(audit, callctx.current(), method) as entry:
                response = await handler(data, context)
                entry.results = result_count(response) if isinstance(response, Message) else 0
                return response

        return handle

    async def lookup_variant(self, data: bytes, context: Context) -> Message:
        request = parse_request(allele_service_pb2.LookupVariantRequest, data)
        if _forwarded(context):
            return allele_service_pb2.LookupVariantResponse()
        return _counted(
            await self.backend.lookup_variant(request, timeout=context.time_remaining())
        )

    async def batch_lookup_variants(self, data: bytes, context: Context) -> Message:
        request = parse_request(allele_service_pb2.BatchLookupVariantsRequest, data)
        if _forwarded(context):
            return allele_service_pb2.BatchLookupVariantsResponse()
        return _counted(
            await self.backend.batch_lookup_variants(request, timeout=context.time_remaining())
        )

    async def search_region(self, data: bytes, context: Context) -> Message:
        request = parse_request(allele_service_pb2.SearchRegionRequest, data)
        if _forwarded(context):
            return allele_service_pb2.SearchRegionResponse()
        return _counted(await self.backend.search_region(request, timeout=context.time_remaining()))

    async def lookup_variant_id(self, data: bytes, context: Context) -> Message:
        request = parse_request(allele_service_pb2.LookupVariantIdRequest, data)
        if _forwarded(context):
            return allele_service_pb2.LookupVariantIdResponse()
        return _counted(
            await self.backend.lookup_variant_id(request, timeout=context.time_remaining())
        )

    async def search_gene(self, data: bytes, context: Context) -> Message:
        request = parse_request(gene_service_pb2.SearchGeneRequest, data)
        if _forwarded(context):
            return gene_service_pb2.SearchGeneResponse()
        return _counted(await self.genes.search_gene(request, timeout=context.time_remaining()))

    async def list_datasets(self, data: bytes, context: Context) -> Message:
        request = parse_request(catalog_service_pb2.ListDatasetsRequest, data)
        if _forwarded(context):
            return catalog_service_pb2.ListDatasetsResponse()
        return _counted(await self.backend.list_datasets(request, timeout=context.time_remaining()))

    async def get_dataset(self, data: bytes, context: Context) -> Message:
        request = parse_request(catalog_service_pb2.GetDatasetRequest, data)
        return _counted(await self.backend.get_dataset(request, timeout=context.time_remaining()))


def _counted(response: Message) -> Message:
    """Record the answer's size on this RPC's server span (once per RPC)."""
    set_result_count(result_count(response))
    return response
