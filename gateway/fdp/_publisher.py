"""What the gateway's FAIR Data Point publishes: the mesh catalogue, validated, by country.

:class:`FdpPublisher` reads the mesh catalogue through the HTTP layer's backend (each
node's ``ListDatasets``, cached by the federation: the gateway never reads another
country's files), validates every dataset's RDF against the GDI shapes once per
version of its catalogue entry (in a worker thread: pySHACL stays off the event loop
and off the request path) and keeps the verdicts. A dataset that does not validate is
left out of the FDP (the Beacon still serves it); the operator is told in the log at
start-up and whenever a dataset's verdict changes, and in ``/metrics``
(``mesh_fdp_datasets{mesh_fdp_state=...}``, ``mesh_fdp_dataset_problems{...}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.metrics import CallbackOptions, Observation
from rdflib import Graph

from gateway.http.backend import LookupBackend
from gateway.http.convert import outcomes_from_details
from mesh.config import FdpConfig
from mesh.errors import UnavailableError
from mesh.fdp import SHAPES_ENV, CacheState, Problem, load_shapes, validate_dataset
from mesh.federation import cached_since
from mesh.tracing import Telemetry
from mesh.v1 import allele_pb2, catalog_service_pb2

log = logging.getLogger(__name__)

Dataset = catalog_service_pb2.Dataset
#: Catalogue pages read per snapshot (1000 datasets each).
MAX_PAGES = 100


@dataclass
class Snapshot:
    """The FDP's content at one moment."""

    #: country -> its published datasets, by id.
    published: dict[str, list[Dataset]] = field(default_factory=dict)
    #: country -> when its node last answered, for catalogs served from the cache.
    cached: dict[str, CacheState] = field(default_factory=dict)
    #: dataset id -> (dataset, why it is not published).
    unpublished: dict[str, tuple[Dataset, list[Problem]]] = field(default_factory=dict)
    _by_id: dict[str, Dataset] = field(default_factory=dict, repr=False)

    @property
    def countries(self) -> list[str]:
        return sorted(self.published)

    def dataset(self, dataset_id: str) -> Dataset | None:
        """A published dataset by id."""
        if len(self._by_id) != sum(len(d) for d in self.published.values()):
            self._by_id = {d.id: d for ds in self.published.values() for d in ds}
        return self._by_id.get(dataset_id)


class FdpPublisher:
    """The mesh's datasets as the FDP publishes them, with their validation verdicts."""

    def __init__(
        self,
        backend: LookupBackend,
        config: FdpConfig | None = None,
        *,
        telemetry: Telemetry | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self.backend = backend
        self.config = config or FdpConfig()
        env = os.environ.get(SHAPES_ENV)
        self.shapes_dir: Path | None = self.config.shapes or (Path(env) if env else None)
        self._shapes: Graph | None = None
        self._refresh_s = refresh_s
        self._verdicts: dict[tuple[str, str], tuple[bytes, list[Problem]]] = {}
        self._last = Snapshot()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._clashes: set[str] = set()
        if telemetry is not None:
            meter = telemetry.meter_provider.get_meter("allelemesh.fdp")
            meter.create_observable_gauge(
                "mesh.fdp.datasets",
                [self._observe_counts],
                description="datasets in the FAIR Data Point, published or left out",
            )
            meter.create_observable_gauge(
                "mesh.fdp.dataset.problems",
                [self._observe_problems],
                description="problems keeping a dataset out of the FAIR Data Point",
            )

    async def start(self) -> Snapshot:
        """Validate the current catalogue, tell the operator, then keep re-checking."""
        if self.shapes_dir is None:
            log.warning(
                "FAIR Data Point: no GDI shapes configured ([fdp] shapes or $%s): datasets "
                "with metadata are published without SHACL validation",
                SHAPES_ENV,
            )
        snapshot = await self.snapshot()
        published = sum(len(d) for d in snapshot.published.values())
        log.info(
            "FAIR Data Point: %d datasets published in %d catalogs, %d left out",
            published,
            len(snapshot.published),
            len(snapshot.unpublished),
        )
        if self._refresh_s > 0:
            self._task = asyncio.create_task(self._refresh_forever(), name="fdp refresh")
        return snapshot

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.snapshot()
            except Exception:  # keep going: the next round may work
                log.exception("FAIR Data Point refresh failed")

    async def snapshot(self) -> Snapshot:
        """The catalogue now, every dataset judged (new or changed ones validated)."""
        datasets, outcomes = await self._catalogue()
        async with self._lock:
            pending = [d for d in datasets if not self._judged(d)]
            if pending:
                await asyncio.to_thread(self._judge, pending)
            snapshot = self._assemble(datasets, outcomes)
            self._last = snapshot
        return snapshot

    async def _catalogue(
        self,
    ) -> tuple[list[Dataset], list[allele_pb2.NodeOutcome]]:
        datasets: list[Dataset] = []
        outcomes: list[allele_pb2.NodeOutcome] = []
        token = ""
        for _ in range(MAX_PAGES):
            try:
                response = await self.backend.list_datasets(
                    catalog_service_pb2.ListDatasetsRequest(page_size=1000, page_token=token),
                    timeout=10.0,
                )
            except UnavailableError as error:
                # No node has answered yet (a gateway started before its nodes): an
                # empty catalogue whose outcomes say why, not a gateway that fails to start.
                return datasets, outcomes_from_details(list(error.details))
            datasets.extend(response.datasets)
            outcomes = list(response.outcomes) or outcomes
            token = response.next_page_token
            if not token:
                break
        return datasets, outcomes

    def _judged(self, dataset: Dataset) -> bool:
        verdict = self._verdicts.get((dataset.country, dataset.id))
        return verdict is not None and verdict[0] == _fingerprint(dataset)

    def _judge(self, datasets: Iterable[Dataset]) -> None:
        """Validate (worker thread); log every dataset whose verdict is new."""
        if self._shapes is None and self.shapes_dir is not None:
            self._shapes = load_shapes(self.shapes_dir)
        for dataset in datasets:
            problems = validate_dataset(dataset, self._shapes)
            key = (dataset.country, dataset.id)
            before = self._verdicts.get(key)
            self._verdicts[key] = (_fingerprint(dataset), problems)
            if problems and (before is None or before[1] != problems):
                log.warning(
                    "FAIR Data Point: dataset %s (%s, node %s) is not published: %s",
                    dataset.id,
                    dataset.country,
                    dataset.node_id,
                    "; ".join(str(p) for p in problems),
                    extra={"fields": {"dataset_id": dataset.id, "problems": len(problems)}},
                )
            elif not problems and before is not None and before[1]:
                log.info("FAIR Data Point: dataset %s is published again", dataset.id)

    def _assemble(
        self, datasets: list[Dataset], outcomes: list[allele_pb2.NodeOutcome]
    ) -> Snapshot:
        snapshot = Snapshot()
        for outcome in outcomes:
            snapshot.published.setdefault(outcome.country, [])
            seen = cached_since(outcome)
            if seen is not None:
                earlier = snapshot.cached.get(outcome.country)
                if earlier is None or seen < earlier.last_seen:
                    snapshot.cached[outcome.country] = CacheState(seen)
        ids: dict[str, str] = {}
        for dataset in datasets:
            problems = self._verdicts[(dataset.country, dataset.id)][1]
            owner = ids.get(dataset.id)
            if owner is not None:
                # A replica's copy; or two countries using one id: the first keeps the URL.
                if owner != dataset.country and dataset.id not in self._clashes:
                    self._clashes.add(dataset.id)
                    log.warning(
                        "FAIR Data Point: dataset id %s is served by %s and %s; only %s's is "
                        "published",
                        dataset.id,
                        owner,
                        dataset.country,
                        owner,
                    )
                continue
            ids[dataset.id] = dataset.country
            if problems:
                snapshot.unpublished[dataset.id] = (dataset, problems)
            else:
                snapshot.published.setdefault(dataset.country, []).append(dataset)
        for country_datasets in snapshot.published.values():
            country_datasets.sort(key=lambda d: d.id)
        return snapshot

    def _observe_counts(self, _options: CallbackOptions) -> Iterable[Observation]:
        last = self._last
        published = sum(len(d) for d in last.published.values())
        return [
            Observation(published, {"mesh.fdp.state": "published"}),
            Observation(len(last.unpublished), {"mesh.fdp.state": "unpublished"}),
        ]

    def _observe_problems(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(
                len(problems), {"mesh.dataset.id": dataset.id, "mesh.peer.country": dataset.country}
            )
            for dataset, problems in self._last.unpublished.values()
        ]


def _fingerprint(dataset: Dataset) -> bytes:
    return dataset.SerializeToString(deterministic=True)
