"""What the HTTP API asks: the :class:`LookupBackend` protocol and a gRPC implementation.

The HTTP layer is written against :class:`LookupBackend` only. In the gateway process the
federation engine implements it in-process; :class:`GrpcBackend` implements it by
calling a node or a gateway over gRPC, turning every failed call back into the
:class:`~mesh.errors.MeshError` the server raised (field, reason and details kept), so
the HTTP answer is the same whichever backend is used.
"""

from __future__ import annotations

from typing import Any, Protocol

import grpc

from mesh.config import TlsConfig
from mesh.errors import error_from_rpc
from mesh.plumbing.channels import open_aio_channel
from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    catalog_service_pb2,
    catalog_service_pb2_grpc,
)


class LookupBackend(Protocol):
    """The six calls the HTTP API needs; each raises :class:`MeshError` subclasses."""

    async def lookup_variant(
        self, req: allele_service_pb2.LookupVariantRequest, *, timeout: float | None
    ) -> allele_service_pb2.LookupVariantResponse:
        """Counts of one variant in every dataset that holds it."""
        ...

    async def batch_lookup_variants(
        self, req: allele_service_pb2.BatchLookupVariantsRequest, *, timeout: float | None
    ) -> allele_service_pb2.BatchLookupVariantsResponse:
        """Counts of many variants, one result per requested variant."""
        ...

    async def search_region(
        self, req: allele_service_pb2.SearchRegionRequest, *, timeout: float | None
    ) -> allele_service_pb2.SearchRegionResponse:
        """One page of the alleles in a region."""
        ...

    async def lookup_variant_id(
        self, req: allele_service_pb2.LookupVariantIdRequest, *, timeout: float | None
    ) -> allele_service_pb2.LookupVariantIdResponse:
        """Counts of every variant an rsID names."""
        ...

    async def list_datasets(
        self, req: catalog_service_pb2.ListDatasetsRequest, *, timeout: float | None
    ) -> catalog_service_pb2.ListDatasetsResponse:
        """One page of the dataset catalogue."""
        ...

    async def get_dataset(
        self, req: catalog_service_pb2.GetDatasetRequest, *, timeout: float | None
    ) -> catalog_service_pb2.Dataset:
        """One dataset's catalogue entry."""
        ...


class GrpcBackend:
    """:class:`LookupBackend` over a grpc.aio channel to a node or a gateway.

    ``scope`` is set on requests that leave it unspecified, so the same app can ask a
    node for its local answer or a gateway for the mesh's.
    """

    def __init__(
        self,
        target: str,
        tls: TlsConfig | None = None,
        *,
        scope: allele_pb2.Scope = allele_pb2.SCOPE_UNSPECIFIED,
    ) -> None:
        self.target = target
        self.scope = scope
        self._channel = open_aio_channel(target, tls)
        self._alleles = allele_service_pb2_grpc.AlleleFrequencyServiceStub(self._channel)
        self._catalog = catalog_service_pb2_grpc.CatalogServiceStub(self._channel)

    async def close(self) -> None:
        """Close the channel (in-flight calls are cancelled)."""
        await self._channel.close()

    async def _call(self, method: Any, req: Any, timeout: float | None) -> Any:
        if self.scope and not req.scope:
            req.scope = self.scope
        try:
            return await method(req, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            raise error_from_rpc(error, self.target) from None

    async def lookup_variant(
        self, req: allele_service_pb2.LookupVariantRequest, *, timeout: float | None
    ) -> allele_service_pb2.LookupVariantResponse:
        """Call ``AlleleFrequencyService/LookupVariant``."""
        response: allele_service_pb2.LookupVariantResponse = await self._call(
            self._alleles.LookupVariant, req, timeout
        )
        return response

    async def batch_lookup_variants(
        self, req: allele_service_pb2.BatchLookupVariantsRequest, *, timeout: float | None
    ) -> allele_service_pb2.BatchLookupVariantsResponse:
        """Call ``AlleleFrequencyService/BatchLookupVariants``."""
        response: allele_service_pb2.BatchLookupVariantsResponse = await self._call(
            self._alleles.BatchLookupVariants, req, timeout
        )
        return response

    async def search_region(
        self, req: allele_service_pb2.SearchRegionRequest, *, timeout: float | None
    ) -> allele_service_pb2.SearchRegionResponse:
        """Call ``AlleleFrequencyService/SearchRegion``."""
        response: allele_service_pb2.SearchRegionResponse = await self._call(
            self._alleles.SearchRegion, req, timeout
        )
        return response

    async def lookup_variant_id(
        self, req: allele_service_pb2.LookupVariantIdRequest, *, timeout: float | None
    ) -> allele_service_pb2.LookupVariantIdResponse:
        """Call ``AlleleFrequencyService/LookupVariantId``."""
        response: allele_service_pb2.LookupVariantIdResponse = await self._call(
            self._alleles.LookupVariantId, req, timeout
        )
        return response

    async def list_datasets(
        self, req: catalog_service_pb2.ListDatasetsRequest, *, timeout: float | None
    ) -> catalog_service_pb2.ListDatasetsResponse:
        """Call ``CatalogService/ListDatasets``."""
        response: catalog_service_pb2.ListDatasetsResponse = await self._call(
            self._catalog.ListDatasets, req, timeout
        )
        return response

    async def get_dataset(
        self, req: catalog_service_pb2.GetDatasetRequest, *, timeout: float | None
    ) -> catalog_service_pb2.Dataset:
        """Call ``CatalogService/GetDataset``."""
        response: catalog_service_pb2.Dataset = await self._call(
            self._catalog.GetDataset, req, timeout
        )
        return response
