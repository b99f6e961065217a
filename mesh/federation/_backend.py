"""``MeshBackend``: the six mesh-wide calls, shared by the gateway and by nodes with peers.

Input is validated here, before anything is fanned out, so a bad variant or region
is ``INVALID_ARGUMENT`` naming the field and no node is asked. Each call is routed
by the catalogue, fanned out with the request's assembly made explicit and
``SCOPE_LOCAL`` (plus the hop metadata), and merged: frequencies in source order,
one outcome per source asked, pooled counts (see :mod:`mesh.federation._pooling`).
Only when every source asked failed is the call itself ``UNAVAILABLE``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import grpc
from opentelemetry.metrics import CallbackOptions, Observation

from mesh.config import PeerConfig, TlsConfig
from mesh.disclosure import DisclosureRules, disclose_released
from mesh.errors import InvalidArgumentError, NotFoundError, status_from_code
from mesh.federation._breaker import BreakerSettings
from mesh.federation._catalog import MeshCatalog
from mesh.federation._fanout import Answer, Call, FanOut, outcome_of, raise_if_all_failed
from mesh.federation._hedging import HedgeSettings
from mesh.federation._peers import PeerSettings, PeerSource, open_peers
from mesh.federation._pooling import pool_frequencies, pool_populations
from mesh.federation._region_merge import (
    CursorState,
    NodeCursor,
    NodePage,
    decode_cursors,
    encode_cursors,
    merge_pages,
)
from mesh.federation._sources import LocalSource, Source
from mesh.federation._variant_ids import lookup_variant_id
from mesh.model.genome import Assembly
from mesh.model.paging import PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.model.variants import region_from_proto, variant_from_proto, variant_to_proto
from mesh.tracing import Telemetry
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2

log = logging.getLogger(__name__)

LOCAL = allele_pb2.SCOPE_LOCAL


@dataclass(frozen=True)
class FederationSettings:
    """Tunables of one process's federation (defaults suit a production mesh)."""

    timeout_s: float = 5.0
    default_assembly: Assembly = Assembly.GRCH38
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    hedge: HedgeSettings = field(default_factory=HedgeSettings)
    catalog_refresh_s: float = 30.0
    #: Per-source bound of one catalogue fetch (start waits at most about this long).
    catalog_timeout_s: float = 2.0
    #: Variants per node RPC of a batch (a node accepts at most 10,000).
    chunk_size: int = 10_000
    max_batch_variants: int = 10_000
    #: Share it between gateway replicas so each accepts the others' page tokens.
    page_token_secret: bytes | None = None
    #: Who owns a dataset id: ``first`` to announce it, or ``country-prefix``.
    dataset_ownership: str = "first"
    #: Mesh-wide floor (individuals) over every source's released rows (``[gateway]``).
    min_individuals: int = 0


class MeshBackend:
    """Mesh-wide lookups over a node's own datasets (optional) and its peers."""

    def __init__(
        self,
        sources: Sequence[Source],
        settings: FederationSettings,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.sources = list(sources)
        self.settings = settings
        self.fanout = FanOut(telemetry)
        self.catalog = MeshCatalog(
            self.sources,
            self.fanout,
            refresh_s=settings.catalog_refresh_s,
            timeout_s=settings.catalog_timeout_s,
            ownership=settings.dataset_ownership,
        )
        self.page_tokens = PageTokenCodec(settings.page_token_secret)
        self.rules = DisclosureRules(min_individuals=settings.min_individuals)
        if telemetry is not None:
            meter = telemetry.meter_provider.get_meter("allelemesh.federation")
            meter.create_observable_gauge(
                "mesh.catalog.shadowed_datasets",
                [self._observe_shadowing],
                description="dataset ids a source announces that belong to another (refused)",
            )

    def _observe_shadowing(self, _options: CallbackOptions) -> Iterable[Observation]:
        # One series per source (bounded by the configuration), 0 when it shadows nothing.
        counts = self.catalog.shadowed_counts()
        return [Observation(counts.get(s.id, 0), {"mesh.peer.id": s.id}) for s in self.sources]

    @classmethod
    def open(
        cls,
        peers: Sequence[PeerConfig],
        *,
        tls: TlsConfig | None,
        local: LocalSource | None = None,
        settings: FederationSettings | None = None,
        telemetry: Telemetry | None = None,
    ) -> MeshBackend:
        """A backend over ``local`` (a node's own datasets) and one channel set per peer."""
        settings = settings or FederationSettings()
        peer_settings = PeerSettings(settings.timeout_s, settings.breaker, settings.hedge)
        sources: list[Source] = [local] if local is not None else []
        sources.extend(open_peers(peers, tls, peer_settings))
        return cls(sources, settings, telemetry)

    @property
    def peers(self) -> list[PeerSource]:
        """The peer sources (breaker and hedging state live there)."""
        return [s for s in self.sources if isinstance(s, PeerSource)]

    async def start(self, *, wait: bool = True) -> None:
        """Fetch the catalogues (``wait=False``: in the background) and keep refreshing."""
        await self.catalog.start(wait=wait)

    async def close(self) -> None:
        """Stop background work and close every channel."""
        await self.catalog.close()
        for source in self.sources:
            await source.close()

    def _rows(
        self,
        answer: Answer[allele_service_pb2.LookupVariantResponse]
        | Answer[allele_service_pb2.SearchRegionResponse]
        | Answer[allele_service_pb2.BatchLookupVariantsResponse],
        frequencies: Sequence[allele_pb2.VariantFrequency] | None = None,
    ) -> list[allele_pb2.VariantFrequency]:
        """The answer's rows, stamped, without any of a dataset id the source may not claim."""
        rows = _stamped(answer, self.rules, frequencies)
        return [r for r in rows if self.catalog.admits(answer.source, r.dataset_id)]

    def _assembly(self, value: int) -> Assembly:
        return Assembly.from_proto(value, default=self.settings.default_assembly)

    # -- AlleleFrequencyService -------------------------------------------------------

    async def lookup_variant(
        self, req: allele_service_pb2.LookupVariantRequest, *, timeout: float | None
    ) -> allele_service_pb2.LookupVariantResponse:
        """Counts of one variant in every dataset of the mesh that holds it."""
        assembly = self._assembly(req.assembly)
        if not req.HasField("variant"):
            raise InvalidArgumentError("variant", "variant is required", reason="MISSING_FIELD")
        variant_from_proto(req.variant, assembly)
        calls = []
        encoded: dict[tuple[str, ...], bytes] = {}  # one encoding per distinct dataset list
        for source, dataset_ids in await self.catalog.route(req.dataset_ids, assembly):
            data = encoded.get(tuple(dataset_ids))
            if data is None:
                forwarded = allele_service_pb2.LookupVariantRequest()
                forwarded.CopyFrom(req)
                forwarded.assembly, forwarded.scope = assembly.to_proto(), LOCAL
                forwarded.dataset_ids[:] = dataset_ids
                data = encoded[tuple(dataset_ids)] = forwarded.SerializeToString()
            calls.append(Call(source, "LookupVariant", data))
        answers = await self.fanout.ask(
            calls, allele_service_pb2.LookupVariantResponse, timeout=timeout
        )
        response = allele_service_pb2.LookupVariantResponse()
        for answer in answers:
            frequencies = self._rows(answer)
            response.frequencies.extend(frequencies)
            response.outcomes.append(outcome_of(answer.source, [answer], len(frequencies)))
        raise_if_all_failed(response.outcomes)
        self.catalog.shadow_outcomes(response.outcomes, req.dataset_ids)
        response.pooled.CopyFrom(pool_frequencies(response.frequencies))
        response.pooled_populations.extend(pool_populations(response.frequencies))
        return response

    async def batch_lookup_variants(
        self, req: allele_service_pb2.BatchLookupVariantsRequest, *, timeout: float | None
    ) -> allele_service_pb2.BatchLookupVariantsResponse:
        """Counts of many variants: one RPC per node per chunk, results in request order."""
        assembly = self._assembly(req.assembly)
        count, limit = len(req.variants), self.settings.max_batch_variants
        if count > limit:
            raise InvalidArgumentError(
                "variants",
                f"a batch holds at most {limit} variants (got {count}); "
                "split it into several calls",
                reason="BATCH_TOO_LARGE",
            )
        keys = [
            variant_from_proto(v, assembly, field_prefix=f"variants[{i}]")
            for i, v in enumerate(req.variants)
        ]
        response = allele_service_pb2.BatchLookupVariantsResponse()
        for key in keys:
            response.results.add().variant.CopyFrom(variant_to_proto(key))
        if not keys:
            return response
        size = max(1, self.settings.chunk_size)
        starts = list(range(0, count, size))
        calls, chunk_starts = [], []
        for source, dataset_ids in await self.catalog.route(req.dataset_ids, assembly):
            for start in starts:
                chunk = allele_service_pb2.BatchLookupVariantsRequest(
                    assembly=assembly.to_proto(),
                    variants=req.variants[start : start + size],
                    dataset_ids=dataset_ids,
                    populations=req.populations,
                    scope=LOCAL,
                )
                calls.append(Call(source, "BatchLookupVariants", chunk))
                chunk_starts.append(start)
        answers = await self.fanout.ask(
            calls, allele_service_pb2.BatchLookupVariantsResponse, timeout=timeout
        )
        normalized = [False] * count
        found: dict[str, int] = defaultdict(int)
        for start, answer in zip(chunk_starts, answers, strict=True):
            if answer.response is None:
                continue
            for offset, result in enumerate(answer.response.results[:size]):
                row = response.results[start + offset]
                if not normalized[start + offset] and result.HasField("variant"):
                    # The node normalized it (possibly against a reference): report that.
                    row.variant.CopyFrom(result.variant)
                    normalized[start + offset] = True
                frequencies = self._rows(answer, result.frequencies)
                row.frequencies.extend(frequencies)
                found[answer.source.id] += len(frequencies)
        for source in dict.fromkeys(c.source for c in calls):
            chunk_answers = [a for a in answers if a.source is source]
            response.outcomes.append(outcome_of(source, chunk_answers, found[source.id]))
        raise_if_all_failed(response.outcomes)
        self.catalog.shadow_outcomes(response.outcomes, req.dataset_ids)
        for row in response.results:
            row.pooled.CopyFrom(pool_frequencies(row.frequencies))
            row.pooled_populations.extend(pool_populations(row.frequencies))
        return response

    async def search_region(
        self, req: allele_service_pb2.SearchRegionRequest, *, timeout: float | None
    ) -> allele_service_pb2.SearchRegionResponse:
        """One merged page of a region over the mesh, in genomic order."""
        assembly = self._assembly(req.assembly)
        if not req.HasField("region"):
            raise InvalidArgumentError("region", "region is required", reason="MISSING_FIELD")
        region = region_from_proto(req.region, assembly)
        page_size = page_size_or_default(req.page_size)
        fingerprint = query_fingerprint(
            "MeshSearchRegion", assembly.value, str(region), sorted(set(req.dataset_ids))
        )
        routes = {s.id: (s, ids) for s, ids in await self.catalog.route(req.dataset_ids, assembly)}
        if req.page_token:
            cursors = decode_cursors(self.page_tokens.decode(req.page_token, fingerprint))
        else:
            cursors = [NodeCursor(source_id) for source_id in routes]
        calls, missing = [], set()
        for cursor in cursors:
            if cursor.state != CursorState.ACTIVE:
                continue
            if cursor.source_id not in routes:
                missing.add(cursor.source_id)  # no longer routed: it cannot resume
                continue
            source, dataset_ids = routes[cursor.source_id]
            forwarded = allele_service_pb2.SearchRegionRequest(
                assembly=assembly.to_proto(),
                region=req.region,
                dataset_ids=dataset_ids,
                page_size=cursor.request_size(page_size),
                page_token=cursor.token,
                scope=LOCAL,
            )
            calls.append(Call(source, "SearchRegion", forwarded))
        answers = await self.fanout.ask(
            calls, allele_service_pb2.SearchRegionResponse, timeout=timeout
        )
        pages = {
            a.source.id: NodePage(self._rows(a), a.response.next_page_token)
            for a in answers
            if a.response is not None
        }
        merged, next_cursors = merge_pages(cursors, pages, page_size)
        response = allele_service_pb2.SearchRegionResponse(frequencies=[f for _, f in merged])
        served: dict[str, int] = defaultdict(int)
        for source_id, _ in merged:
            served[source_id] += 1
        for answer in answers:
            response.outcomes.append(outcome_of(answer.source, [answer], served[answer.source.id]))
        raise_if_all_failed(response.outcomes)
        self.catalog.shadow_outcomes(response.outcomes, req.dataset_ids)
        for cursor in cursors:
            if cursor.state == CursorState.FAILED or cursor.source_id in missing:
                response.outcomes.append(_skipped_outcome(cursor.source_id, routes))
        if any(c.state == CursorState.ACTIVE for c in next_cursors):
            state = encode_cursors(next_cursors)
            response.next_page_token = self.page_tokens.encode(fingerprint, state)
        return response

    async def lookup_variant_id(
        self, req: allele_service_pb2.LookupVariantIdRequest, *, timeout: float | None
    ) -> allele_service_pb2.LookupVariantIdResponse:
        """Every variant an rsID names, looked up in every dataset of the mesh."""
        return await lookup_variant_id(self, req, timeout=timeout)

    # -- CatalogService ---------------------------------------------------------------

    async def list_datasets(
        self, req: catalog_service_pb2.ListDatasetsRequest, *, timeout: float | None
    ) -> catalog_service_pb2.ListDatasetsResponse:
        """The mesh catalogue (cached, refreshed in the background), paged."""
        del timeout  # answered from the cache
        assembly = Assembly.from_proto(req.assembly) if req.assembly else None
        page_size = page_size_or_default(req.page_size)
        fingerprint = query_fingerprint("MeshListDatasets", req.assembly)
        offset = 0
        if req.page_token:
            offset = int.from_bytes(self.page_tokens.decode(req.page_token, fingerprint), "big")
        datasets = self.catalog.datasets(assembly)
        response = catalog_service_pb2.ListDatasetsResponse(
            datasets=datasets[offset : offset + page_size], outcomes=self.catalog.outcomes()
        )
        raise_if_all_failed(response.outcomes)
        if offset + page_size < len(datasets):
            state = (offset + page_size).to_bytes(4, "big")
            response.next_page_token = self.page_tokens.encode(fingerprint, state)
        return response

    async def get_dataset(
        self, req: catalog_service_pb2.GetDatasetRequest, *, timeout: float | None
    ) -> catalog_service_pb2.Dataset:
        """One dataset's entry, asked of the node that holds it."""
        if not req.dataset_id:
            raise InvalidArgumentError(
                "dataset_id", "dataset_id is required", reason="MISSING_FIELD"
            )
        owners = self.catalog.owners(req.dataset_id)
        if not owners:
            await self.catalog.route([req.dataset_id], self.settings.default_assembly)
            owners = self.catalog.owners(req.dataset_id)
        forwarded = catalog_service_pb2.GetDatasetRequest(dataset_id=req.dataset_id, scope=LOCAL)
        (answer,) = await self.fanout.ask(
            [Call(owners[0], "GetDataset", forwarded)], catalog_service_pb2.Dataset, timeout=timeout
        )
        if answer.response is None:
            if answer.status.code == grpc.StatusCode.NOT_FOUND.value[0]:
                raise NotFoundError(answer.status.message, reason="DATASET_NOT_FOUND")
            raise_if_all_failed([outcome_of(answer.source, [answer], 0)])
        dataset = answer.response
        assert dataset is not None
        dataset.node_id, dataset.country = answer.source.id, answer.source.country
        return dataset


def _stamped(
    answer: Answer[allele_service_pb2.LookupVariantResponse]
    | Answer[allele_service_pb2.SearchRegionResponse]
    | Answer[allele_service_pb2.BatchLookupVariantsResponse],
    rules: DisclosureRules,
    frequencies: Sequence[allele_pb2.VariantFrequency] | None = None,
) -> list[allele_pb2.VariantFrequency]:
    """The answer's frequencies, named by node and country, under the mesh-wide floor.

    Node and country are filled in if missing; ``rules`` applies before anything is
    pooled, so pooled counts are only ever built from released rows.
    """
    if frequencies is None:
        response = answer.response
        if response is None or isinstance(response, allele_service_pb2.BatchLookupVariantsResponse):
            return []
        frequencies = response.frequencies
    items = list(frequencies)
    for item in items:
        if not item.node_id:
            item.node_id = answer.source.id
        if not item.country:
            item.country = answer.source.country
        if rules.active:
            disclose_released(item, rules)
    return items


def _skipped_outcome(
    source_id: str, routes: dict[str, tuple[Source, list[str]]]
) -> allele_pb2.NodeOutcome:
    country = routes[source_id][0].country if source_id in routes else ""
    status = status_from_code(
        grpc.StatusCode.ABORTED,
        "failed on an earlier page of this query and is no longer asked; "
        "restart the search to include it",
    )
    return allele_pb2.NodeOutcome(node_id=source_id, country=country, status=status)
