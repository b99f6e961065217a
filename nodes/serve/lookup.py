"""Answers lookups over a node's own datasets, as encoded response messages.

This is the node's hot path. Stored values are compact (see :mod:`nodes.index.records`);
each dataset's codec expands one into ``VariantFrequency`` bytes from cached encoded
pieces (no protobuf decoding) and returns its total counts, so a response is
assembled from byte slices: the frequency, the node's pre-encoded identity fields,
and a pooled ``AlleleCounts`` summed from those totals. Protobuf objects are built
only where a request asks for work on the contents (population filtering).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

from mesh.errors import ConfigError, InvalidArgumentError, NotFoundError
from mesh.model import wire
from mesh.model.genome import Assembly, assembly_not_held
from mesh.model.normalize import ReferenceSequence, normalize
from mesh.model.paging import PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.model.variants import (
    VariantKey,
    canonical_variant,
    validate_region,
    validate_variant,
)
from mesh.model.wire import (
    FREQUENCIES_TAG,
    NEXT_PAGE_TOKEN_TAG,
    POOLED_TAG,
    RESULT_FREQUENCIES_TAG,
    RESULT_VARIANT_TAG,
    RESULTS_TAG,
)
from mesh.plumbing import callctx
from mesh.plumbing.callctx import CallContext
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.index.keys import encode_key, region_bounds
from nodes.index.records import ABSENT, COUNT_FIELDS
from nodes.serve._batch import batch_keys, encode_stored_batch, key_table
from nodes.serve._point import PointPlans, point_key
from nodes.serve._response import (
    EXACT,
    NOTHING_POOLED,
    LookupResult,
    NodeIdentity,
    PooledCounts,
    decode_region_state,
    encode_region_state,
    outcome_bytes,
    variant_message,
)
from nodes.serve._selection import ScanStop, Selection, ServedDataset, dataset_outcome
from nodes.serve.budgets import BudgetLedger
from nodes.serve.catalog import NodeCatalog
from nodes.serve.policy import OPEN_POLICY, DatasetPolicy, access_denied, release
from nodes.serve.store import DatasetIndex, IndexStore, merge_scans

__all__ = ["LocalLookup", "LookupResult", "NodeIdentity", "ServedDataset", "outcome_bytes"]
_varint = wire.varint


class LocalLookup:
    """Lookup, batch, region and catalogue answers over one node's :class:`IndexStore`."""

    def __init__(
        self,
        store: IndexStore,
        identity: NodeIdentity,
        *,
        default_assembly: Assembly = Assembly.GRCH38,
        references: Mapping[Assembly, ReferenceSequence] | None = None,
        page_tokens: PageTokenCodec | None = None,
        max_batch_variants: int = 10_000,
        policies: Mapping[str, DatasetPolicy] | None = None,
        budgets: BudgetLedger | None = None,
        catalog_visibility: str = "existence",
    ) -> None:
        self.store = store
        self.policies = dict(policies or {})
        budgeted = sorted(i for i, p in self.policies.items() if p.budget is not None)
        if budgeted and budgets is None:
            raise ConfigError(
                f"node.state_dir: is required when a dataset has a query_budget "
                f"({', '.join(budgeted)}): budgets are counted in <state_dir>/budgets.sqlite3",
                metadata={"key": "node.state_dir"},
            )
        self.budgets = budgets
        #: (dataset id, origin, forwarder) -> encoded "withheld" dataset outcome.
        self._withheld: dict[tuple[str, str, str], bytes] = {}
        self.identity = identity
        self.default_assembly = default_assembly
        self.references = dict(references or {})
        self.page_tokens = page_tokens or PageTokenCodec()
        self.max_batch_variants = max_batch_variants
        self._identity_suffix = wire.node_identity_fields(identity.node_id, identity.country)
        #: ``mesh.v1.Assembly`` values seen -> their assembly (the default for unspecified).
        self._assemblies: dict[int, Assembly] = {}
        for value in allele_pb2.Assembly.values():
            with contextlib.suppress(InvalidArgumentError):
                self._assemblies[value] = self.assembly_of(value)
        #: Point lookups' caller-independent selections.
        self._points = PointPlans(store, self.policies)
        #: ``CatalogService``: the datasets as each caller may know of them.
        self.catalog = NodeCatalog(
            store, identity, self.policies, self.page_tokens, catalog_visibility
        )

    # -- request helpers --------------------------------------------------------------

    def assembly_of(self, value: int) -> Assembly:
        """The request's assembly, the node default when unspecified."""
        return Assembly.from_proto(value, default=self.default_assembly)

    def select(
        self,
        assembly: Assembly,
        dataset_ids: Sequence[str],
        caller: CallContext | None = None,
    ) -> Selection:
        """The datasets a request covers, as the caller may see them.

        ``caller`` (default: the bound :func:`mesh.plumbing.callctx.current`) is resolved only
        for datasets with an ``allow`` list. Named datasets it may not see are refused;
        when none are named, those are left out (and reported as dataset outcomes), and
        a caller who may see none is refused. Budgets are charged later, for the rows
        each dataset gives.
        """
        call = caller if caller is not None else callctx.current()
        if dataset_ids:
            chosen = []
            for i, dataset_id in enumerate(dict.fromkeys(dataset_ids)):
                dataset = self.store.dataset(dataset_id)
                if dataset is None:
                    raise NotFoundError(
                        f"dataset {dataset_id!r} is not served by node {self.identity.node_id}",
                        reason="DATASET_NOT_FOUND",
                        metadata={"dataset_id": dataset_id, "field": f"dataset_ids[{i}]"},
                    )
                chosen.append(dataset)
            explicit = True
        else:
            chosen = self.store.datasets()
            explicit = False
        selection = Selection(explicit)
        denied = None
        for dataset in sorted(chosen, key=lambda d: d.id):
            if dataset.assembly != assembly:
                continue
            policy = self.policies.get(dataset.id, OPEN_POLICY)
            granularity = policy.granularity_for_call(dataset.id, call)
            if granularity is None:
                denied = denied or access_denied(dataset.id, call)
                if explicit:
                    raise denied
                selection.notes.append(self._withheld_note(dataset.id, call))
                continue
            selection.add(ServedDataset(dataset, granularity, policy))
        if not selection.datasets and denied is not None:
            raise denied
        if chosen and all(d.assembly != assembly for d in chosen):
            where = f"on node {self.identity.node_id}" if not explicit else "named here"
            raise assembly_not_held(assembly, (d.assembly.value for d in chosen), where)
        return selection

    def _withheld_note(self, dataset_id: str, call: CallContext) -> bytes:
        """The dataset outcome of a dataset withheld from ``call`` (encoded once each)."""
        forwarder = call.forwarder
        key = (dataset_id, call.principal.name, forwarder.name if forwarder else "")
        note = self._withheld.get(key)
        if note is None:
            note = dataset_outcome(dataset_id, access_denied(dataset_id, call).to_status())
            if len(self._withheld) >= 4096:
                self._withheld.clear()
            self._withheld[key] = note
        return note

    def budget_ledger(self) -> BudgetLedger:
        """The query budgets' ledger (only asked for when a dataset has a budget)."""
        assert self.budgets is not None  # checked at construction for budgeted datasets
        return self.budgets

    def variant_key(self, variant: allele_pb2.Variant, assembly: Assembly) -> VariantKey:
        """Validate and normalize a requested variant exactly as the builder did."""
        chromosome, position = variant.chromosome, variant.position
        ref, alt = variant.reference_bases, variant.alternate_bases
        key = canonical_variant(chromosome, position, ref, alt, assembly)
        if key is None:  # aliases, lower case, or an error to explain: the full path
            key = validate_variant(chromosome, position, ref, alt, assembly)
        if len(key.ref) == 1 and len(key.alt) == 1:
            return key  # a single-base substitution is already normalized
        return normalize(key, self.references.get(assembly))

    def _release(
        self, value: bytes, served: ServedDataset, populations: frozenset[str]
    ) -> tuple[bytes, tuple[int, ...], int]:
        """Slow path: the frequency as this caller may see it, its counts and precision."""
        frequency = served.index.codec.decode_frequency(value)
        release(frequency, served.granularity, served.policy.privacy)
        if populations and frequency.populations:
            kept = [p for p in frequency.populations if p.population in populations]
            del frequency.populations[:]
            frequency.populations.extend(kept)
        c = frequency.counts
        counts = tuple(getattr(c, f) if c.HasField(f) else ABSENT for f in COUNT_FIELDS)  # type: ignore[arg-type]
        return frequency.SerializeToString() + self._identity_suffix, counts, c.precision

    # -- RPCs -------------------------------------------------------------------------

    def lookup_variant(
        self,
        request: allele_service_pb2.LookupVariantRequest,
        caller: CallContext | None = None,
        *,
        data: bytes | None = None,
    ) -> LookupResult:
        """Encode a ``LookupVariantResponse`` (without outcomes) for one variant.

        ``data``: the serialized ``request`` when the caller has it (the servicer): the
        variant is keyed from those bytes (see :mod:`nodes.serve._point`).
        """
        assembly = self._assemblies.get(request.assembly) or self.assembly_of(request.assembly)
        if not request.HasField("variant"):
            raise InvalidArgumentError("variant", "variant is required", reason="MISSING_FIELD")
        key = None if data is None else point_key(data, assembly, assembly not in self.references)
        if key is None:
            try:
                key = encode_key(self.variant_key(request.variant, assembly))
            except InvalidArgumentError as error:
                raise error.with_field_prefix("variant") from None
        dataset_ids = request.dataset_ids
        if not request.populations:
            plan = self._points.get(
                assembly, dataset_ids, lambda: self.select(assembly, dataset_ids, caller)
            )
            if plan is not None:
                return self._point_answer(key, *plan)
        selection = self.select(assembly, dataset_ids, caller)
        datasets = selection.datasets
        if selection.budgeted:
            held = selection.limit(self.budget_ledger(), [[d.index.get(key)] for d in datasets])
            values = [column[0] for column in held]
        else:
            values = [d.index.get(key) for d in datasets]
        populations = frozenset(request.populations)
        parts = []
        pool = PooledCounts()
        for served, value in zip(datasets, values, strict=True):
            if value is None:
                continue
            if served.fast and not populations:
                stored, total = served.index.codec.frequency(value)
                pool.add(total, EXACT)
                frequency = stored + self._identity_suffix
            else:
                frequency, counts, precision = self._release(value, served, populations)
                pool.add(counts, precision)
            parts.append(FREQUENCIES_TAG + _varint(len(frequency)) + frequency)
        found = len(parts)
        pooled = pool.encode()
        parts.append(POOLED_TAG + _varint(len(pooled)) + pooled)
        notes = selection.finish()
        return LookupResult(b"".join(parts), found, [d.index.id for d in datasets], notes)

    def _point_answer(
        self, key: bytes, indexes: tuple[DatasetIndex, ...], ids: tuple[str, ...]
    ) -> LookupResult:
        """:meth:`lookup_variant`'s answer when every covered dataset serves stored bytes."""
        suffix = self._identity_suffix
        if len(indexes) == 1:
            index = indexes[0]
            value = index.get(key)
            if value is None:
                return LookupResult(NOTHING_POOLED, 0, list(ids))
            stored, total = index.codec.frequency(value)
            size = _varint(len(stored) + len(suffix))
            pooled = self._points.pooled_one(total)
            return LookupResult(
                b"".join((FREQUENCIES_TAG, size, stored, suffix, pooled)), 1, list(ids)
            )
        parts: list[bytes] = []
        pool = PooledCounts()
        for index in indexes:
            value = index.get(key)
            if value is not None:
                stored, total = index.codec.frequency(value)
                pool.add(total, EXACT)
                parts += (FREQUENCIES_TAG, _varint(len(stored) + len(suffix)), stored, suffix)
        found = len(parts) // 4
        pooled = pool.encode()
        parts += (POOLED_TAG, _varint(len(pooled)), pooled)
        return LookupResult(b"".join(parts), found, list(ids))

    def batch_lookup(
        self,
        request: allele_service_pb2.BatchLookupVariantsRequest,
        caller: CallContext | None = None,
        *,
        trailer: Callable[[int, bytes], bytes] | None = None,
        data: bytes | None = None,
    ) -> LookupResult:
        """Encode a ``BatchLookupVariantsResponse`` (without outcomes), request order kept.

        ``trailer(frequency count, dataset outcomes)`` gives bytes to end the payload with
        (the servicer's outcome field), joined with the rest: a batch answer is ~1 MB, so
        appending it afterwards would copy all of it once more. ``data``: the serialized
        ``request`` when the caller has it (the servicer), keyed from those bytes.
        """
        assembly = self.assembly_of(request.assembly)
        requested = request.variants
        count = len(requested)
        if count > self.max_batch_variants:
            raise InvalidArgumentError(
                "variants",
                f"a batch holds at most {self.max_batch_variants} variants (got {count}); "
                "split it into several calls",
                reason="BATCH_TOO_LARGE",
            )
        if data is None:
            data = request.SerializeToString()
        keys, echoes = self.batch_keys(data, requested, assembly)
        selection = self.select(assembly, request.dataset_ids, caller)
        datasets = selection.datasets
        tail = None if trailer is None else lambda found: trailer(found, b"".join(selection.notes))
        populations = frozenset(request.populations)
        if not populations and not selection.budgeted and all(d.fast for d in datasets):
            suffix = self._identity_suffix
            payload, found = encode_stored_batch(keys, echoes, datasets, suffix, tail)
        else:
            columns: Sequence[list[bytes | None]] = [d.index.get_many(keys) for d in datasets]
            if selection.budgeted:
                columns = selection.limit(self.budget_ledger(), columns)
            payload, found = self._batch_released(echoes, datasets, columns, populations, tail)
        notes = selection.finish()
        return LookupResult(payload, found, [d.index.id for d in datasets], notes)

    def batch_keys(
        self, data: bytes, variants: Sequence[allele_pb2.Variant], assembly: Assembly
    ) -> tuple[list[bytes], list[bytes]]:
        """The index key and encoded result ``Variant`` of each of a batch's ``variants``.

        ``data`` is the serialized request they were parsed from: see
        :func:`nodes.serve._batch.batch_keys`. Indels are keyed as sent only when there
        is no reference to left-align them against.
        """
        table = key_table(assembly, assembly not in self.references)
        return batch_keys(data, variants, table, lambda v, row: self._normalized(v, assembly, row))

    def _normalized(
        self, variant: allele_pb2.Variant, assembly: Assembly, row: int
    ) -> tuple[bytes, bytes]:
        """The key and echo of a batch variant by :meth:`variant_key`'s full path."""
        try:
            key = self.variant_key(variant, assembly)
        except InvalidArgumentError as error:
            raise error.with_field_prefix(f"variants[{row}]") from None
        canonical = (
            key.position == variant.position
            and key.chromosome == variant.chromosome
            and key.ref == variant.reference_bases
            and key.alt == variant.alternate_bases
        )
        # Already canonical: echo it back as sent.
        return encode_key(key), variant.SerializeToString() if canonical else variant_message(key)

    def _batch_released(
        self,
        echoes: list[bytes],
        datasets: list[ServedDataset],
        values: Sequence[list[bytes | None]],
        populations: frozenset[str],
        trailer: Callable[[int], bytes] | None,
    ) -> tuple[bytes, int]:
        """The encoded results when some dataset releases less than its stored record.

        ``values[i]`` holds dataset i's stored value of each requested variant.
        """
        columns = [
            (d, d.fast and not populations, column)
            for d, column in zip(datasets, values, strict=True)
        ]
        release_one = self._release
        suffix = self._identity_suffix
        parts = []
        found = 0
        for row, echo in enumerate(echoes):
            inner = [RESULT_VARIANT_TAG + _varint(len(echo)) + echo]
            pool = PooledCounts()
            for served, fast, column in columns:
                value = column[row]
                if value is None:
                    continue
                if fast:
                    stored, total = served.index.codec.frequency(value)
                    pool.add(total, EXACT)
                    frequency = stored + suffix
                else:
                    frequency, counts, precision = release_one(value, served, populations)
                    pool.add(counts, precision)
                inner.append(RESULT_FREQUENCIES_TAG + _varint(len(frequency)) + frequency)
            found += len(inner) - 1
            pooled = pool.encode()
            inner.append(POOLED_TAG + _varint(len(pooled)) + pooled)
            result = b"".join(inner)
            parts.append(RESULTS_TAG + _varint(len(result)) + result)
        if trailer is not None:
            parts.append(trailer(found))
        return b"".join(parts), found

    def search_region(
        self, request: allele_service_pb2.SearchRegionRequest, caller: CallContext | None = None
    ) -> LookupResult:
        """Encode a ``SearchRegionResponse`` page (without outcomes), in genomic order."""
        assembly = self.assembly_of(request.assembly)
        if not request.HasField("region"):
            raise InvalidArgumentError("region", "region is required", reason="MISSING_FIELD")
        region = request.region
        try:
            key = validate_region(region.chromosome, region.start, region.end, assembly)
        except InvalidArgumentError as error:
            raise error.with_field_prefix("region") from None
        page_size = page_size_or_default(request.page_size)
        selection = self.select(assembly, request.dataset_ids, caller)
        by_id = {d.index.id: d for d in selection.datasets}
        fingerprint = query_fingerprint("SearchRegion", assembly.value, str(key), sorted(by_id))
        resume: tuple[bytes, str] | None = None
        if request.page_token:
            resume = decode_region_state(self.page_tokens.decode(request.page_token, fingerprint))
        # Budgeted datasets: hold up to a page of rows now, refund what the page did not use.
        held = selection.reserve(self.budget_ledger(), page_size) if selection.budgeted else {}
        stops = {i: ScanStop() for i in held}
        first, last = region_bounds(key)
        start_key = resume[0] if resume else None
        scans = []
        for d in selection.datasets:
            if d.policy.budget is None or d.index.id in held:  # a spent budget: not scanned
                scan = d.index.scan(first, last, start_key)
                stop = stops.get(d.index.id)
                scans.append((d.index.id, stop.wrap(scan) if stop is not None else scan))
        caps = {i: g.granted for i, g in held.items()}
        used = dict.fromkeys(held, 0)
        parts: list[bytes] = []
        last_emitted: tuple[bytes, str] | None = None
        more = False
        no_populations: frozenset[str] = frozenset()
        for stored_key, dataset_id, value in merge_scans(scans):
            if resume is not None and (stored_key, dataset_id) <= resume:
                continue
            if len(parts) == page_size:
                more = True
                break
            if dataset_id in caps:
                if used[dataset_id] == caps[dataset_id]:
                    stops[dataset_id].set()  # budget reached: the merge drops this dataset
                    continue
                used[dataset_id] += 1
            served = by_id[dataset_id]
            if served.fast:
                frequency = served.index.codec.frequency(value)[0] + self._identity_suffix
            else:
                frequency = self._release(value, served, no_populations)[0]
            parts.append(FREQUENCIES_TAG + _varint(len(frequency)) + frequency)
            last_emitted = (stored_key, dataset_id)
        count = len(parts)
        if more and last_emitted is not None:
            token = self.page_tokens.encode(fingerprint, encode_region_state(*last_emitted))
            parts.append(wire.string_field(NEXT_PAGE_TOKEN_TAG, token))
        if held:
            cut = {i for i, stop in stops.items() if stop.stopped}
            selection.settle(self.budget_ledger(), held, used, cut)
        notes = selection.finish()
        return LookupResult(b"".join(parts), count, list(by_id), notes)
