"""``LookupVariantId`` over a node's own datasets: an rsID resolved, then a batch lookup.

The id is resolved in every dataset the caller may see (their rsID tables,
:mod:`nodes.index.variant_ids`; a budgeted dataset is charged for the variants it names);
the union of the variants, in key (genomic) order, is then
looked up like a batch in all of them, so a dataset that holds a variant without
recording the id still gives its row. ``LookupVariantIdResponse`` shares its first two
fields with ``BatchLookupVariantsResponse`` (results, outcomes), so the batch's encoded
answer is the answer, with the id appended. A dataset indexed before rsIDs were kept is
reported in the node's outcome (``FAILED_PRECONDITION``: rebuild it), never as "not
found".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mesh.errors import IndexStoreError
from mesh.model import wire
from mesh.model.variant_ids import parse_variant_id
from mesh.model.wire import RESULT_VARIANT_TAG, RESULTS_TAG, VARIANT_ID_TAG
from mesh.plumbing.callctx import CallContext
from mesh.v1 import allele_service_pb2
from nodes.serve._response import LookupResult
from nodes.serve._selection import dataset_outcome

if TYPE_CHECKING:
    from nodes.serve.lookup import LocalLookup

_varint = wire.varint


def rebuild_error(dataset_id: str) -> IndexStoreError:
    """Why a dataset without the rsID table cannot answer an rsID."""
    return IndexStoreError(
        f"dataset {dataset_id!r} was indexed before rsIDs were kept: rebuild it with "
        "`allelemesh index build` to look up rsIDs",
        reason="INDEX_WITHOUT_VARIANT_IDS",
        metadata={"dataset_id": dataset_id},
    )


def lookup_variant_id(
    lookup: LocalLookup,
    request: allele_service_pb2.LookupVariantIdRequest,
    caller: CallContext | None,
    trailer: Callable[[int, bytes], bytes],
) -> LookupResult:
    """Encode a ``LookupVariantIdResponse``; ``trailer`` as for a batch (the outcome)."""
    rsid = parse_variant_id(request.variant_id)
    assembly = lookup.assembly_of(request.assembly)
    selection = lookup.select(assembly, request.dataset_ids, caller)
    variants: dict[bytes, bytes] = {}  # index key -> serialized Variant
    notes = []
    for served in selection.datasets:
        table = served.index.variant_ids
        if table is None:
            status = rebuild_error(served.index.id).to_status()
            notes.append(dataset_outcome(served.index.id, status))
            continue
        held = [
            (key, value)
            for key in table.keys_of(rsid)
            if (value := served.index.get(key)) is not None
        ]
        if served.policy.budget is not None and held:
            # Naming the variants an rsID stands for releases them: a budgeted dataset is
            # charged a row for each, and past its budget resolves no more (reported).
            grant = selection.charge(lookup.budget_ledger(), {served.index.id: len(held)})
            held = held[: grant[served.index.id].granted]
        for key, value in held:
            if key not in variants:
                frequency = served.index.codec.decode_frequency(value)
                variants[key] = frequency.variant.SerializeToString()
    unresolved = b"".join(notes)
    id_field = wire.string_field(VARIANT_ID_TAG, rsid)
    ordered = [variants[k] for k in sorted(variants)]
    ids = [d.index.id for d in selection.datasets]
    if request.variants_only or not ordered:
        parts = []
        for variant in ordered:
            inner = RESULT_VARIANT_TAG + _varint(len(variant)) + variant
            parts.append(RESULTS_TAG + _varint(len(inner)) + inner)
        outcomes = unresolved + selection.finish()
        parts.append(trailer(0, outcomes))
        parts.append(id_field)
        return LookupResult(b"".join(parts), 0, ids, outcomes)
    batch = allele_service_pb2.BatchLookupVariantsRequest(
        assembly=assembly.to_proto(),
        dataset_ids=request.dataset_ids,
        populations=request.populations,
    )
    for variant in ordered:
        batch.variants.add().ParseFromString(variant)
    result = lookup.batch_lookup(
        batch, caller, trailer=lambda found, outcomes: trailer(found, unresolved + outcomes)
    )
    return LookupResult(
        result.payload + id_field,
        result.frequency_count,
        result.dataset_ids,
        unresolved + result.dataset_outcomes,
    )
