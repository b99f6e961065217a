"""Running a ``g_variants`` query against the backend, Beacon paging included.

Beacon's ``skip``/``limit`` count results **within each result set** (each node's
dataset), never result sets: a variant lookup with ``limit: 1`` answers with every
dataset that holds it, and a range query with ``limit: 1000`` gives up to 1000
alleles of each dataset, in genomic order; the next page is the same request with
``skip + limit``. The backend pages a region by opaque tokens (AIP-158) that can only
be followed, never jumped, and merges every dataset in genomic order, so a range
query reads pages in order, counts the matching records per dataset and keeps each
dataset's ``[skip, skip + limit)``. Only a ``boolean`` query can stop at its first
hit: any other must see every dataset to the end of the range. A scan stops at
:data:`SCAN_CAP` records, reported as incomplete (``hasMore``, a lower bound).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.http.backend import LookupBackend
from gateway.http.beacon_query import BeaconQuery, matches_type
from gateway.http.problems import bad_request
from gateway.http.settings import HttpSettings
from mesh.errors import NotFoundError
from mesh.model.paging import MAX_PAGE_SIZE
from mesh.model.variants import region_to_proto, variant_to_proto
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2

#: Most records one Beacon request reads from the backend (skip + limit included).
SCAN_CAP = 100_000
#: Most catalogue pages read to list the datasets of MISS/ALL result sets.
MAX_CATALOG_PAGES = 20

DatasetKey = tuple[str, str]  # (node_id, dataset_id)


@dataclass
class SearchResult:
    """What a ``g_variants`` query found."""

    #: The records of the requested page of every dataset, in backend order.
    page: list[allele_pb2.VariantFrequency] = field(default_factory=list)
    #: The query's ``skip`` and ``limit``, per dataset.
    skip: int = 0
    limit: int = 0
    #: Matching records seen (the total when ``complete``).
    matched: int = 0
    #: Whether every record was seen (so ``matched`` is the exact total).
    complete: bool = True
    #: Matching records per (node, dataset), over everything seen.
    per_dataset: dict[DatasetKey, int] = field(default_factory=dict)
    #: One outcome per node, merged over every backend call.
    outcomes: dict[str, allele_pb2.NodeOutcome] = field(default_factory=dict)
    #: Why nothing could be found at all (e.g. no dataset of the assembly), for ``info``.
    warnings: list[str] = field(default_factory=list)

    def has_more(self, key: DatasetKey | None = None) -> bool:
        """Whether matching records exist after this page (of one dataset, or of any)."""
        if not self.complete:
            return True
        end = self.skip + self.limit
        if key is not None:
            return self.per_dataset.get(key, 0) > end
        return any(count > end for count in self.per_dataset.values())

    def add_outcomes(self, outcomes: Iterable[allele_pb2.NodeOutcome]) -> None:
        """Merge outcomes of one call: a failure on any page stays a failure."""
        for outcome in outcomes:
            known = self.outcomes.get(outcome.node_id)
            if known is None:
                self.outcomes[outcome.node_id] = _copy(outcome)
                continue
            count = known.frequency_count + outcome.frequency_count
            if outcome.status.code != 0:
                known.status.CopyFrom(outcome.status)
            known.latency_ms = max(known.latency_ms, outcome.latency_ms)
            known.frequency_count = count


def _copy(outcome: allele_pb2.NodeOutcome) -> allele_pb2.NodeOutcome:
    copied = allele_pb2.NodeOutcome()
    copied.CopyFrom(outcome)
    return copied


def _needed(query: BeaconQuery) -> int:
    """How many matching records the response needs to see."""
    if query.granularity == "boolean" and query.include not in ("MISS", "ALL"):
        return 1
    # Paging is per dataset, and a dataset not seen yet may still come: read to the end.
    return SCAN_CAP


def _matches(query: BeaconQuery, frequency: allele_pb2.VariantFrequency) -> bool:
    v = frequency.variant
    if query.alternate_bases is not None and v.alternate_bases != query.alternate_bases:
        return False
    return matches_type(query.variant_type, v.reference_bases, v.alternate_bases)


def _take(query: BeaconQuery, result: SearchResult, frequency: allele_pb2.VariantFrequency) -> None:
    if not _matches(query, frequency):
        return
    result.matched += 1
    key = (frequency.node_id, frequency.dataset_id)
    seen = result.per_dataset[key] = result.per_dataset.get(key, 0) + 1
    if query.skip < seen <= query.skip + query.limit:
        result.page.append(frequency)


async def run_query(
    backend: LookupBackend, query: BeaconQuery, settings: HttpSettings
) -> SearchResult:
    """Answer a sequence query with one lookup, a range query with as many pages as needed.

    An assembly no dataset holds is ``exists: false`` with the reason in ``info.warnings``.
    """
    try:
        return await _run_query(backend, query, settings)
    except NotFoundError as error:
        if error.reason != "ASSEMBLY_NOT_HELD":
            raise
        return SearchResult(warnings=[error.message])


async def _run_query(
    backend: LookupBackend, query: BeaconQuery, settings: HttpSettings
) -> SearchResult:
    if query.skip + query.limit > SCAN_CAP:
        raise bad_request(
            "skip",
            f"skip + limit may be at most {SCAN_CAP}; narrow the range instead",
            reason="SKIP_TOO_LARGE",
        )
    result = SearchResult(skip=query.skip, limit=query.limit)
    if not query.located:
        return result
    if query.variant_id is not None:
        by_id = allele_service_pb2.LookupVariantIdRequest(
            assembly=query.assembly.to_proto(),
            variant_id=query.variant_id,
            dataset_ids=query.dataset_ids,
            scope=settings.scope,
        )
        named = await backend.lookup_variant_id(by_id, timeout=settings.timeout_s)
        result.add_outcomes(named.outcomes)
        for variant in named.results:  # every variant the id names: records of each
            for frequency in variant.frequencies:
                _take(query, result, frequency)
        return result
    if query.variant is not None:
        lookup = allele_service_pb2.LookupVariantRequest(
            assembly=query.assembly.to_proto(),
            variant=variant_to_proto(query.variant),
            dataset_ids=query.dataset_ids,
            scope=settings.scope,
        )
        found = await backend.lookup_variant(lookup, timeout=settings.timeout_s)
        result.add_outcomes(found.outcomes)
        for frequency in found.frequencies:
            _take(query, result, frequency)
        return result
    assert query.region is not None
    needed = _needed(query)
    filtered = query.alternate_bases is not None or query.variant_type is not None
    token = ""
    scanned = 0
    while True:
        # Filtered pages may hold records that do not match: read full pages then.
        want = MAX_PAGE_SIZE if filtered else max(1, min(MAX_PAGE_SIZE, needed - scanned))
        request = allele_service_pb2.SearchRegionRequest(
            assembly=query.assembly.to_proto(),
            region=region_to_proto(query.region),
            dataset_ids=query.dataset_ids,
            page_size=want,
            page_token=token,
            scope=settings.scope,
        )
        response = await backend.search_region(request, timeout=settings.timeout_s)
        result.add_outcomes(response.outcomes)
        for frequency in response.frequencies:
            _take(query, result, frequency)
        scanned += len(response.frequencies)
        token = response.next_page_token
        if not token:
            return result
        if result.matched >= needed or scanned >= SCAN_CAP:
            result.complete = False
            return result


async def catalog_datasets(
    backend: LookupBackend, query: BeaconQuery, settings: HttpSettings
) -> list[catalog_service_pb2.Dataset]:
    """Every dataset of the query's assembly (those asked for, if any): for MISS/ALL sets."""
    datasets: list[catalog_service_pb2.Dataset] = []
    token = ""
    for _ in range(MAX_CATALOG_PAGES):
        request = catalog_service_pb2.ListDatasetsRequest(
            assembly=query.assembly.to_proto(),
            page_size=MAX_PAGE_SIZE,
            page_token=token,
            scope=settings.scope,
        )
        response = await backend.list_datasets(request, timeout=settings.timeout_s)
        datasets.extend(response.datasets)
        token = response.next_page_token
        if not token:
            break
    if query.dataset_ids:
        wanted = set(query.dataset_ids)
        datasets = [d for d in datasets if d.id in wanted]
    return datasets
