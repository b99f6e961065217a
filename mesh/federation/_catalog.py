"""The mesh catalogue: every source's datasets, cached, and routing by dataset and assembly.

Each source's ``ListDatasets`` is fetched (all pages) at start and every
``refresh_s`` in the background. Requests are routed with it: a request naming
``dataset_ids`` goes only to the nodes that hold them (unknown ids are ``NOT_FOUND``,
after one refresh in case a node added them), and one for an assembly only to nodes
with a dataset of that assembly. A source whose catalogue could never be fetched is
asked anyway when no dataset is named: it may hold data, and its outcome will tell.

Each dataset id belongs to one source (:mod:`mesh.federation._ownership`): a source that
announces an id bound to another is never asked or pooled for it (when no dataset is
named, it is asked for its own datasets by name), and every answer reports the refusal
as a ``DATASET_ID_SHADOWED`` dataset outcome of that source naming both nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from google.rpc import error_details_pb2, status_pb2

from mesh.errors import NotFoundError, ok_status
from mesh.federation._fanout import Call, FanOut
from mesh.federation._ownership import FIRST, DatasetOwners, Shadowing
from mesh.federation._sources import Source
from mesh.model.genome import Assembly, assembly_not_held
from mesh.v1 import allele_pb2, catalog_service_pb2

log = logging.getLogger(__name__)

#: Pages fetched per source per refresh, so a misbehaving node cannot loop us.
MAX_CATALOGUE_PAGES = 100
#: A dataset miss triggers a refresh at most this often.
MISS_REFRESH_INTERVAL_S = 1.0
#: ``ErrorInfo.reason`` on the outcome of a source whose catalogue is served from the
#: cache; ``metadata["last_seen"]`` is when it last answered (RFC 3339, UTC).
CATALOGUE_CACHED = "CATALOGUE_CACHED"


def cached_since(outcome: allele_pb2.NodeOutcome) -> datetime | None:
    """When the node of a ``ListDatasets`` outcome last answered, if its catalogue is cached."""
    for detail in outcome.status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.reason == CATALOGUE_CACHED:
            try:
                return datetime.fromisoformat(info.metadata["last_seen"])
            except (KeyError, ValueError):
                return None
    return None


@dataclass
class CatalogEntry:
    """One source's catalogue as last fetched."""

    datasets: list[catalog_service_pb2.Dataset] = field(default_factory=list)
    known: bool = False
    status: status_pb2.Status = field(default_factory=ok_status)
    latency_ms: float = 0.0
    fetched_at: float = 0.0


class MeshCatalog:
    """Cached catalogues of every source, refreshed in the background."""

    def __init__(
        self,
        sources: Sequence[Source],
        fanout: FanOut,
        *,
        refresh_s: float,
        timeout_s: float,
        ownership: str = FIRST,
    ) -> None:
        self._sources = list(sources)
        self._fanout = fanout
        self._refresh_s = refresh_s
        self._timeout_s = timeout_s
        self._entries = {s.id: CatalogEntry() for s in self._sources}
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._last_miss_refresh = -MISS_REFRESH_INTERVAL_S
        self._owners = DatasetOwners(ownership)
        #: Claims refused at the last refresh, and per source the ids refused to it.
        self.shadowing: list[Shadowing] = []
        self._refused: dict[str, set[str]] = {}
        self._logged: set[tuple[str, str]] = set()

    async def start(self, *, wait: bool = True) -> None:
        """Fetch every catalogue once (``wait=False``: in the background), then keep refreshing."""
        if wait:
            await self.refresh()
        self._task = asyncio.create_task(self._refresh_forever(first=not wait))

    async def close(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refresh_forever(self, *, first: bool) -> None:
        if first:
            await self.refresh()
        while self._refresh_s > 0:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.refresh()
            except Exception:  # keep refreshing: one bad round must not stop the next
                log.exception("catalogue refresh failed")

    async def refresh(self) -> None:
        """Fetch every source's catalogue now (concurrently); keep old ones on failure."""
        async with self._lock:
            await asyncio.gather(*(self._fetch(s) for s in self._sources))
            self._bind()

    def _bind(self) -> None:
        # Earlier rounds bound first (bindings last); within a round, configuration order.
        catalogues = [
            (s, [d.id for d in self._entries[s.id].datasets])
            for s in self._sources
            if self._entries[s.id].known
        ]
        self.shadowing = self._owners.bind(catalogues)
        self._refused = {}
        for claim in self.shadowing:
            self._refused.setdefault(claim.claimant_id, set()).add(claim.dataset_id)
        for claim in self.shadowing:
            if (claim.dataset_id, claim.claimant_id) in self._logged:
                continue  # once per claim, not at every refresh
            self._logged.add((claim.dataset_id, claim.claimant_id))
            log.warning(
                "dataset id shadowed: %s also announced by %s (owner: %s)",
                claim.dataset_id,
                claim.claimant_id,
                claim.owner_id or "none: no country prefix",
            )

    def _owned(self, source: Source) -> list[catalog_service_pb2.Dataset]:
        """The source's datasets that are its own (refused claims left out)."""
        refused = self._refused.get(source.id)
        datasets = self._entries[source.id].datasets
        return [d for d in datasets if d.id not in refused] if refused else datasets

    def shadow_outcomes(
        self, outcomes: MutableSequence[allele_pb2.NodeOutcome], dataset_ids: Sequence[str]
    ) -> None:
        """Report the refused claims that concern a request (all when no id is named).

        Each becomes a ``DatasetOutcome`` of the claimant's outcome; a claimant that was
        not asked at all gets an outcome of its own saying why.
        """
        named = set(dataset_ids)
        by_node = {o.node_id: o for o in outcomes}
        for claim in self.shadowing:
            if named and claim.dataset_id not in named:
                continue
            if claim.claimant_id not in by_node:
                # Not asked at all (it holds nothing else): say why in an outcome of its own.
                outcomes.append(
                    allele_pb2.NodeOutcome(
                        node_id=claim.claimant_id,
                        country=claim.claimant_country,
                        status=claim.status(),
                    )
                )
                by_node[claim.claimant_id] = outcomes[-1]  # a repeated field copies on append
            outcome = by_node[claim.claimant_id]
            outcome.datasets.add(dataset_id=claim.dataset_id).status.CopyFrom(claim.status())

    def admits(self, source: Source, dataset_id: str) -> bool:
        """Whether rows of ``dataset_id`` from ``source`` may be used (not a refused claim)."""
        refused = self._refused.get(source.id)
        return refused is None or dataset_id not in refused

    def shadowed_counts(self) -> dict[str, int]:
        """Refused dataset ids per claimant source (for ``/metrics``)."""
        return {source_id: len(ids) for source_id, ids in self._refused.items()}

    async def _fetch(self, source: Source) -> None:
        datasets: list[catalog_service_pb2.Dataset] = []
        token = ""
        started = time.perf_counter()
        entry = self._entries[source.id]
        for _ in range(MAX_CATALOGUE_PAGES):
            request = catalog_service_pb2.ListDatasetsRequest(
                page_size=1000, page_token=token, scope=allele_pb2.SCOPE_LOCAL
            )
            (answer,) = await self._fanout.ask(
                [Call(source, "ListDatasets", request)],
                catalog_service_pb2.ListDatasetsResponse,
                timeout=self._timeout_s,
            )
            if answer.response is None:
                entry.status = answer.status
                entry.latency_ms = (time.perf_counter() - started) * 1000.0
                log.info("catalogue of %s not refreshed: %s", source.id, answer.status.message)
                return
            datasets.extend(answer.response.datasets)
            token = answer.response.next_page_token
            if not token:
                break
        for dataset in datasets:
            # Stamp the owner as we know it, so routing never trusts a peer's claim.
            dataset.node_id, dataset.country = source.id, source.country
        self._entries[source.id] = CatalogEntry(
            datasets, True, ok_status(), (time.perf_counter() - started) * 1000.0, time.time()
        )

    # -- queries ----------------------------------------------------------------------

    def datasets(self, assembly: Assembly | None = None) -> list[catalog_service_pb2.Dataset]:
        """Every known dataset in source order, optionally of one assembly."""
        wanted = None if assembly is None else assembly.to_proto()
        return [
            d
            for s in self._sources
            for d in self._owned(s)
            if wanted is None or d.assembly == wanted
        ]

    def outcomes(self) -> list[allele_pb2.NodeOutcome]:
        """One outcome per source: how its last catalogue fetch went.

        A source whose last refresh failed but that answered before is OK with a
        message saying how old its cached catalogue is, and an ``ErrorInfo``
        (:data:`CATALOGUE_CACHED`) saying when it last answered.
        """
        outcomes = []
        for source in self._sources:
            entry = self._entries[source.id]
            status = status_pb2.Status()
            status.CopyFrom(entry.status)
            if entry.known and status.code != 0:
                age = time.time() - entry.fetched_at
                status = status_pb2.Status(
                    message=f"catalogue cached {age:.0f} s ago; refresh failed: {status.message}"
                )
                seen = datetime.fromtimestamp(entry.fetched_at, UTC)
                status.details.add().Pack(
                    error_details_pb2.ErrorInfo(
                        reason=CATALOGUE_CACHED,
                        domain="allelemesh",
                        metadata={"last_seen": seen.isoformat().replace("+00:00", "Z")},
                    )
                )
            elif not entry.known and status.code == 0:
                status = status_pb2.Status(code=14, message="catalogue not fetched yet")
            outcomes.append(
                allele_pb2.NodeOutcome(
                    node_id=source.id,
                    country=source.country,
                    status=status,
                    latency_ms=entry.latency_ms,
                    frequency_count=len(self._owned(source)),
                )
            )
        self.shadow_outcomes(outcomes, ())
        return outcomes

    def owners(self, dataset_id: str) -> list[Source]:
        """Sources whose catalogue lists ``dataset_id``."""
        return [s for s in self._sources if any(d.id == dataset_id for d in self._owned(s))]

    async def route(
        self, dataset_ids: Sequence[str], assembly: Assembly
    ) -> list[tuple[Source, list[str]]]:
        """The sources to ask and the dataset ids to name to each, in source order."""
        proto = assembly.to_proto()
        if not dataset_ids:
            routes: list[tuple[Source, list[str]]] = []
            for source in self._sources:
                if source.id in self._refused:
                    # Ask for its own datasets by name, so it cannot answer for the others.
                    own = [d.id for d in self._owned(source) if d.assembly == proto]
                    if own:
                        routes.append((source, own))
                elif self._may_hold(source, assembly):
                    routes.append((source, []))
            if not routes and self._sources:
                # Every catalogue is known and none has this assembly: say so, rather
                # than answer "no such variant" (and pooled zeros) for the whole mesh.
                raise assembly_not_held(assembly, (d.assembly for d in self.datasets()))
            return routes
        wanted = list(dict.fromkeys(dataset_ids))
        if any(not self.owners(i) for i in wanted):
            await self._refresh_after_miss()
        unknown = [i for i in wanted if not self.owners(i)]
        if unknown:
            raise NotFoundError(
                f"unknown dataset id(s) in this mesh: {', '.join(unknown)}",
                reason="DATASET_NOT_FOUND",
                metadata={"dataset_ids": ",".join(unknown)},
            )
        routes = []
        for source in self._sources:
            held = {d.id for d in self._owned(source) if d.assembly == proto}
            named = [i for i in wanted if i in held]
            if named:
                routes.append((source, named))
        if not routes:
            named_datasets = [d for d in self.datasets() if d.id in wanted]
            raise assembly_not_held(
                assembly, (d.assembly for d in named_datasets), f"named ({', '.join(wanted)})"
            )
        return routes

    def _may_hold(self, source: Source, assembly: Assembly) -> bool:
        entry = self._entries[source.id]
        if not entry.known:
            return True
        proto = assembly.to_proto()
        return any(d.assembly == proto for d in entry.datasets)

    async def _refresh_after_miss(self) -> None:
        now = time.monotonic()
        if now - self._last_miss_refresh < MISS_REFRESH_INTERVAL_S:
            return
        self._last_miss_refresh = now
        await self.refresh()
