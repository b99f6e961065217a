"""A node's ``CatalogService`` answers: its datasets, as the caller may know of them.

A dataset the caller may query (:meth:`nodes.serve.policy.DatasetPolicy.granularity_for_call`
grants it any granularity: for a forwarded call, the origin and the forwarder both) is
listed in full. Of one it may not query, the catalogue
shows what ``[node] catalog_visibility`` says:

* ``existence`` (the default): its id, node and country, with ``existence_only`` set
  and every other field withheld (title, description, assembly, counts, populations,
  dates, digests say something about a cohort the caller was not admitted to);
* ``hidden``: nothing; ``GetDataset`` answers ``NOT_FOUND`` exactly as for an id the
  node does not serve, so the answer does not tell the two apart;
* ``full``: everything, as before this setting existed.

An ``assembly`` filter still applies to entries shown by existence only (the node
knows their assembly): it narrows the list, as it would for a caller who may query.
"""

from __future__ import annotations

from collections.abc import Mapping

from mesh.errors import InvalidArgumentError, NotFoundError
from mesh.model.genome import Assembly
from mesh.model.paging import PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.plumbing import callctx
from mesh.plumbing.callctx import CallContext
from mesh.v1 import catalog_service_pb2
from nodes.serve._response import NodeIdentity
from nodes.serve.policy import OPEN_POLICY, DatasetPolicy
from nodes.serve.store import DatasetIndex, IndexStore

EXISTENCE, HIDDEN, FULL = "existence", "hidden", "full"


class NodeCatalog:
    """The catalogue of one node's :class:`IndexStore`, per caller."""

    def __init__(
        self,
        store: IndexStore,
        identity: NodeIdentity,
        policies: Mapping[str, DatasetPolicy],
        page_tokens: PageTokenCodec,
        visibility: str = EXISTENCE,
    ) -> None:
        if visibility not in (EXISTENCE, HIDDEN, FULL):
            raise ValueError(f"catalog visibility {visibility!r}")
        self.store = store
        self.identity = identity
        self.policies = policies
        self.page_tokens = page_tokens
        self.visibility = visibility

    def entry(
        self, dataset: DatasetIndex, caller: CallContext | None = None
    ) -> catalog_service_pb2.Dataset | None:
        """``dataset``'s entry as ``caller`` may see it; ``None``: not at all."""
        node_id, country = self.identity.node_id, self.identity.country
        policy = self.policies.get(dataset.id, OPEN_POLICY)
        call = caller if caller is not None else callctx.current()
        if self.visibility == FULL or policy.granularity_for_call(dataset.id, call) is not None:
            return dataset.metadata.to_proto(
                node_id, country, dataset.publication, self.identity.beacon
            )
        if self.visibility == HIDDEN:
            return None
        return catalog_service_pb2.Dataset(
            id=dataset.id, node_id=node_id, country=country, existence_only=True
        )

    def list_datasets(
        self,
        request: catalog_service_pb2.ListDatasetsRequest,
        caller: CallContext | None = None,
    ) -> catalog_service_pb2.ListDatasetsResponse:
        """The catalogue of this node, optionally one assembly, paged."""
        datasets = self.store.datasets()
        if request.assembly:
            assembly = Assembly.from_proto(request.assembly)
            datasets = [d for d in datasets if d.assembly == assembly]
        entries = [e for e in (self.entry(d, caller) for d in datasets) if e is not None]
        page_size = page_size_or_default(request.page_size)
        fingerprint = query_fingerprint("ListDatasets", request.assembly)
        offset = 0
        if request.page_token:
            offset = int.from_bytes(self.page_tokens.decode(request.page_token, fingerprint), "big")
        response = catalog_service_pb2.ListDatasetsResponse(
            datasets=entries[offset : offset + page_size]
        )
        if offset + page_size < len(entries):
            state = (offset + page_size).to_bytes(4, "big")
            response.next_page_token = self.page_tokens.encode(fingerprint, state)
        return response

    def get_dataset(
        self,
        request: catalog_service_pb2.GetDatasetRequest,
        caller: CallContext | None = None,
    ) -> catalog_service_pb2.Dataset:
        """One dataset's entry as the caller may see it."""
        if not request.dataset_id:
            raise InvalidArgumentError(
                "dataset_id", "dataset_id is required", reason="MISSING_FIELD"
            )
        dataset = self.store.dataset(request.dataset_id)
        entry = None if dataset is None else self.entry(dataset, caller)
        if entry is None:
            raise NotFoundError(
                f"dataset {request.dataset_id!r} is not served by node {self.identity.node_id}",
                reason="DATASET_NOT_FOUND",
                metadata={"dataset_id": request.dataset_id},
            )
        return entry
