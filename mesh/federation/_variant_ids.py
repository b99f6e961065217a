"""``LookupVariantId`` over the mesh: every node resolves the rsID, then one mesh batch.

Only the nodes know which ids their datasets recorded (the VCF ``ID`` column), so the
id itself is fanned out first (``variants_only``: each node answers the variants it
names, no counts). The union of those variants is then looked up as a batch in every
dataset of the mesh (:meth:`MeshBackend.batch_lookup_variants`), so a country whose
VCF lacked the id, or whose index predates rsIDs, still gives its counts of a variant
another country resolved. One outcome per node: the resolution's failure if it failed
there (its ids may be missing from the answer), else the batch's, with the datasets
each step reported (e.g. an index to rebuild).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mesh.federation._fanout import Call, outcome_of, raise_if_all_failed
from mesh.model.genome import CONTIG_CODES
from mesh.model.variant_ids import parse_variant_id
from mesh.v1 import allele_pb2, allele_service_pb2

if TYPE_CHECKING:
    from mesh.federation._backend import MeshBackend

LOCAL = allele_pb2.SCOPE_LOCAL


def _order(variant: allele_pb2.Variant) -> tuple[int, int, str, str]:
    code = CONTIG_CODES.get(variant.chromosome, 255)
    return code, variant.position, variant.reference_bases, variant.alternate_bases


async def lookup_variant_id(
    backend: MeshBackend,
    req: allele_service_pb2.LookupVariantIdRequest,
    *,
    timeout: float | None,
) -> allele_service_pb2.LookupVariantIdResponse:
    """Resolve ``req.variant_id`` on every node, then look its variants up mesh-wide."""
    rsid = parse_variant_id(req.variant_id)
    assembly = backend._assembly(req.assembly)
    loop_started = time.monotonic()
    calls = []
    for source, dataset_ids in await backend.catalog.route(req.dataset_ids, assembly):
        forwarded = allele_service_pb2.LookupVariantIdRequest(
            assembly=assembly.to_proto(),
            variant_id=rsid,
            dataset_ids=dataset_ids,
            scope=LOCAL,
            variants_only=True,
        )
        calls.append(Call(source, "LookupVariantId", forwarded))
    answers = await backend.fanout.ask(
        calls, allele_service_pb2.LookupVariantIdResponse, timeout=timeout
    )
    resolved: dict[tuple[str, int, str, str], allele_pb2.Variant] = {}
    first: dict[str, allele_pb2.NodeOutcome] = {}
    for answer in answers:
        found = 0
        if answer.response is not None:
            for result in answer.response.results:
                v = result.variant
                resolved.setdefault(
                    (v.chromosome, v.position, v.reference_bases, v.alternate_bases), v
                )
                found += 1
        first[answer.source.id] = outcome_of(answer.source, [answer], found)
    raise_if_all_failed(list(first.values()))
    response = allele_service_pb2.LookupVariantIdResponse(variant_id=rsid)
    variants = sorted(resolved.values(), key=_order)
    if not variants:
        response.outcomes.extend(first.values())
        return response
    batch = allele_service_pb2.BatchLookupVariantsRequest(
        assembly=assembly.to_proto(),
        variants=variants,
        dataset_ids=req.dataset_ids,
        populations=req.populations,
    )
    remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - loop_started))
    answered = await backend.batch_lookup_variants(batch, timeout=remaining)
    response.results.extend(answered.results)
    for looked_up in answered.outcomes:
        resolving = first.pop(looked_up.node_id, None)
        if resolving is not None and resolving.status.code != 0:
            resolving.frequency_count = looked_up.frequency_count
            looked_up = resolving  # noqa: PLW2901 - its ids may be missing: report that
        elif resolving is not None:
            known = {d.dataset_id for d in looked_up.datasets}
            looked_up.datasets.extend(d for d in resolving.datasets if d.dataset_id not in known)
        response.outcomes.append(looked_up)
    response.outcomes.extend(first.values())  # asked to resolve, not routed for the batch
    return response
