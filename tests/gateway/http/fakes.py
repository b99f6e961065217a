"""A scripted :class:`LookupBackend` for failures a single real node cannot produce."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2

from mesh.errors import UnavailableError
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2


def failed_outcome(node_id: str, country: str, message: str = "connection refused"):
    outcome = allele_pb2.NodeOutcome(node_id=node_id, country=country, latency_ms=12.5)
    outcome.status.code = grpc.StatusCode.UNAVAILABLE.value[0]
    outcome.status.message = message
    return outcome


def ok_outcome(node_id: str, country: str, count: int = 1):
    outcome = allele_pb2.NodeOutcome(
        node_id=node_id, country=country, latency_ms=3.0, frequency_count=count
    )
    outcome.status.SetInParent()
    return outcome


def unavailable(outcomes) -> UnavailableError:
    details = []
    for outcome in outcomes:
        packed = any_pb2.Any()
        packed.Pack(outcome)
        details.append(packed)
    return UnavailableError("every node failed", reason="ALL_NODES_FAILED", details=details)


class FakeBackend:
    """Answers every call with ``lookup`` / ``search`` / ``datasets``, or raises ``error``."""

    def __init__(self, *, error=None, lookup=None, search=None, datasets=()):
        self.error = error
        self.lookup = lookup or allele_service_pb2.LookupVariantResponse()
        self.search = search or allele_service_pb2.SearchRegionResponse()
        self.datasets = list(datasets)
        self.requests: list[object] = []

    def _check(self, req) -> None:
        self.requests.append(req)
        if self.error is not None:
            raise self.error

    async def lookup_variant(self, req, *, timeout):
        self._check(req)
        return self.lookup

    async def batch_lookup_variants(self, req, *, timeout):
        self._check(req)
        return allele_service_pb2.BatchLookupVariantsResponse()

    async def search_region(self, req, *, timeout):
        self._check(req)
        return self.search

    async def list_datasets(self, req, *, timeout):
        self._check(req)
        return catalog_service_pb2.ListDatasetsResponse(datasets=self.datasets)

    async def get_dataset(self, req, *, timeout):
        self._check(req)
        for dataset in self.datasets:
            if dataset.id == req.dataset_id:
                return dataset
        from mesh.errors import NotFoundError

        raise NotFoundError(f"dataset {req.dataset_id!r} not found")
