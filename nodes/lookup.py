"""Answers lookups over a node's own datasets, as encoded response messages.

This is the node's hot path. Stored values already hold the serialized
``VariantFrequency`` (see :mod:`nodes.records`), so a response is assembled from
byte slices: the stored frequency, the node's pre-encoded identity fields, and a
pooled ``AlleleCounts`` summed from the 20-byte count headers. Protobuf objects are
built only where a request asks for work on the contents (population filtering).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from mesh import wire
from mesh.errors import InvalidArgumentError, NotFoundError
from mesh.genome import Assembly, assembly_not_held
from mesh.identity import SpiffeId
from mesh.normalize import ReferenceSequence, normalize
from mesh.paging import PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from mesh.variants import (
    VariantKey,
    canonical_variant,
    validate_region,
    validate_variant,
)
from nodes._response import (
    EXACT,
    FIELD1,
    FIELD2,
    FIELD3,
    NOTHING_POOLED,
    NOTHING_POOLED_LEN,
    POOLED_ONE,
    SINGLE_BASES,
    LookupResult,
    NodeIdentity,
    PooledCounts,
    decode_region_state,
    encode_region_state,
    fast_chromosomes,
    outcome_bytes,
    pool_one,
    unpack_header,
    variant_message,
)
from nodes.keys import MAX_INLINE_ALLELES, encode_key, pack_prefix, region_bounds
from nodes.policy import (
    OPEN_POLICY,
    BudgetLedger,
    DatasetPolicy,
    Granularity,
    access_denied,
    release,
)
from nodes.records import HEADER_LEN, decode_frequency
from nodes.store import DatasetIndex, IndexStore, merge_scans

__all__ = ["LocalLookup", "LookupResult", "NodeIdentity", "ServedDataset", "outcome_bytes"]
_varint = wire.varint


@dataclass(frozen=True)
class ServedDataset:
    """A dataset as one request may see it."""

    index: DatasetIndex
    granularity: Granularity
    policy: DatasetPolicy

    @property
    def fast(self) -> bool:
        """Stored bytes may be served as they are (full record, exact counts)."""
        return self.granularity is Granularity.RECORD and self.policy.privacy.exact


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
    ) -> None:
        self.store = store
        self.policies = dict(policies or {})
        self.budgets = BudgetLedger()
        self.identity = identity
        self.default_assembly = default_assembly
        self.references = dict(references or {})
        self.page_tokens = page_tokens or PageTokenCodec()
        self.max_batch_variants = max_batch_variants
        self._identity_suffix = wire.node_identity_fields(identity.node_id, identity.country)

    # -- request helpers --------------------------------------------------------------

    def assembly_of(self, value: int) -> Assembly:
        """The request's assembly, the node default when unspecified."""
        return Assembly.from_proto(value, default=self.default_assembly)

    def select(
        self,
        assembly: Assembly,
        dataset_ids: Sequence[str],
        caller: SpiffeId | None = None,
        lookups: int = 1,
    ) -> list[ServedDataset]:
        """The datasets a request covers, as the caller may see them, budgets charged.

        Named datasets the caller may not see are refused; when none are named, those
        are left out, and a caller who may see none is refused.
        """
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
        served = []
        denied = None
        for dataset in sorted(chosen, key=lambda d: d.id):
            if dataset.assembly != assembly:
                continue
            policy = self.policies.get(dataset.id, OPEN_POLICY)
            granularity = policy.granularity_for(caller)
            if granularity is None:
                denied = denied or access_denied(dataset.id, caller)
                if explicit:
                    raise denied
                continue
            served.append(ServedDataset(dataset, granularity, policy))
        if not served and denied is not None:
            raise denied
        if chosen and all(d.assembly != assembly for d in chosen):
            where = f"on node {self.identity.node_id}" if not explicit else "named here"
            raise assembly_not_held(assembly, (d.assembly.value for d in chosen), where)
        for item in served:
            if item.policy.budget is not None:
                self.budgets.charge(item.index.id, item.policy.budget, caller, lookups)
        return served

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
    ) -> tuple[bytes, tuple[int, int, int, int, int], int]:
        """Slow path: the frequency as this caller may see it, its counts and precision."""
        frequency = decode_frequency(value)
        release(frequency, served.granularity, served.policy.privacy)
        if populations and frequency.populations:
            kept = [p for p in frequency.populations if p.population in populations]
            del frequency.populations[:]
            frequency.populations.extend(kept)
        c = frequency.counts
        counts = (c.allele_count, c.allele_number, c.homozygous_count, c.heterozygous_count,
                  c.hemizygous_count)  # fmt: skip
        return frequency.SerializeToString() + self._identity_suffix, counts, c.precision

    # -- RPCs -------------------------------------------------------------------------

    def lookup_variant(
        self, request: allele_service_pb2.LookupVariantRequest, caller: SpiffeId | None = None
    ) -> LookupResult:
        """Encode a ``LookupVariantResponse`` (without outcomes) for one variant."""
        assembly = self.assembly_of(request.assembly)
        if not request.HasField("variant"):
            raise InvalidArgumentError("variant", "variant is required", reason="MISSING_FIELD")
        try:
            key = encode_key(self.variant_key(request.variant, assembly))
        except InvalidArgumentError as error:
            raise error.with_field_prefix("variant") from None
        datasets = self.select(assembly, request.dataset_ids, caller)
        populations = frozenset(request.populations)
        parts = []
        pool = PooledCounts()
        for served in datasets:
            value = served.index.get(key)
            if value is None:
                continue
            if served.fast and not populations:
                pool.add(unpack_header(value), EXACT)
                frequency = value[HEADER_LEN:] + self._identity_suffix
            else:
                frequency, counts, precision = self._release(value, served, populations)
                pool.add(counts, precision)
            parts.append(FIELD1 + _varint(len(frequency)) + frequency)
        found = len(parts)
        pooled = pool.encode()
        parts.append(FIELD3 + _varint(len(pooled)) + pooled)
        return LookupResult(b"".join(parts), found, [d.index.id for d in datasets])

    def batch_lookup(
        self,
        request: allele_service_pb2.BatchLookupVariantsRequest,
        caller: SpiffeId | None = None,
        *,
        trailer: Callable[[int], bytes] | None = None,
    ) -> LookupResult:
        """Encode a ``BatchLookupVariantsResponse`` (without outcomes), request order kept.

        ``trailer(frequency count)`` gives bytes to end the payload with (the servicer's
        outcome field), joined with the rest: a batch answer is ~1 MB, so appending it
        afterwards would copy all of it once more.
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
        keys, echoes = self._batch_keys(requested, assembly)
        datasets = self.select(assembly, request.dataset_ids, caller, lookups=max(count, 1))
        populations = frozenset(request.populations)
        if not populations and all(d.fast for d in datasets):
            payload, found = self._batch_stored(keys, echoes, datasets, trailer)
        else:
            payload, found = self._batch_released(keys, echoes, datasets, populations, trailer)
        return LookupResult(payload, found, [d.index.id for d in datasets])

    def _batch_keys(
        self, requested: Sequence[allele_pb2.Variant], assembly: Assembly
    ) -> tuple[list[bytes], list[bytes]]:
        """The index key and the encoded result ``Variant`` of every requested variant.

        Variants whose normalized form is themselves (valid bases, a chromosome of
        :func:`~mesh.variants.chromosome_table`, nothing to trim, and for indels no
        reference to left-align against) are keyed here with a few string operations,
        and echoed as their own serialization (the chromosome made canonical). Every
        other variant goes through :meth:`variant_key` (errors, normalization).
        """
        table = fast_chromosomes(assembly)
        snvs_only = assembly in self.references  # indels may need left-alignment
        keys: list[bytes] = []
        echoes: list[bytes] = []
        add_key, add_echo = keys.append, echoes.append
        bases = SINGLE_BASES
        for row, variant in enumerate(requested):
            chromosome, position = variant.chromosome, variant.position
            ref, alt = variant.reference_bases, variant.alternate_bases
            entry = table.get(chromosome)
            if entry is not None and position > 0:
                ref_len, alt_len = len(ref), len(alt)
                if ref_len == 1 and alt_len == 1:
                    simple = ref != alt and ref in bases and alt in bases
                else:
                    simple = (
                        ref_len > 0
                        and alt_len > 0
                        and not snvs_only
                        and ref_len + alt_len < MAX_INLINE_ALLELES
                        and ref != alt
                        and not ref.strip("ACGTN")
                        and not alt.strip("ACGTN")
                        # trimming would change it: a common first or last base
                        and (
                            ref_len == 1
                            or alt_len == 1
                            or (ref[0] != alt[0] and ref[-1] != alt[-1])
                        )
                    )
                if simple and position + ref_len - 1 <= entry.length:
                    add_key(pack_prefix(entry.code, position) + f"{ref}>{alt}".encode("ascii"))
                    encoded = variant.SerializeToString()
                    if entry.renamed:
                        encoded = entry.rename(encoded, variant)
                    add_echo(encoded)
                    continue
            try:
                key = self.variant_key(variant, assembly)
            except InvalidArgumentError as error:
                raise error.with_field_prefix(f"variants[{row}]") from None
            add_key(encode_key(key))
            if (
                key.position == position
                and key.chromosome == chromosome
                and key.ref == ref
                and key.alt == alt
            ):
                add_echo(variant.SerializeToString())  # already canonical: echo it back
            else:
                add_echo(variant_message(key))
        return keys, echoes

    def _batch_stored(
        self,
        keys: list[bytes],
        echoes: list[bytes],
        datasets: list[ServedDataset],
        trailer: Callable[[int], bytes] | None,
    ) -> tuple[bytes, int]:
        """The encoded results when every dataset serves its stored bytes as they are.

        One flat list of byte parts (zero-copy views of the stored values, read inside
        their transactions) and one join; pooled counts come from the 20-byte headers.
        """
        suffix = self._identity_suffix
        suffix_len = len(suffix) - HEADER_LEN  # stored frequency = value[HEADER_LEN:]
        small, limit, varint = wire.SMALL_VARINTS, wire.SMALL_VARINT_LIMIT, _varint
        parts: list[bytes | memoryview] = []
        add = parts.extend
        found = 0
        with ExitStack() as stack:
            getters = [stack.enter_context(d.index.reader()) for d in datasets]
            if len(getters) == 1:
                get = getters[0]
                pooled_of = POOLED_ONE.get
                for key, echo in zip(keys, echoes, strict=True):
                    size = len(echo)
                    echo_len = small[size] if size < limit else varint(size)
                    value = get(key)
                    if value is None:
                        size += 1 + len(echo_len) + NOTHING_POOLED_LEN
                        row_len = small[size] if size < limit else varint(size)
                        add((FIELD1, row_len, FIELD1, echo_len, echo, NOTHING_POOLED))
                        continue
                    pooled = pooled_of(value[:HEADER_LEN]) or pool_one(value)
                    frequency = len(value) + suffix_len
                    frequency_len = small[frequency] if frequency < limit else varint(frequency)
                    size += 2 + len(echo_len) + len(frequency_len) + frequency + len(pooled)
                    row_len = small[size] if size < limit else varint(size)
                    add((FIELD1, row_len, FIELD1, echo_len, echo, FIELD2, frequency_len,
                         value[HEADER_LEN:], suffix, pooled))  # fmt: skip
                    found += 1
            else:
                for key, echo in zip(keys, echoes, strict=True):
                    inner: list[bytes | memoryview] = [FIELD1, _varint(len(echo)), echo]
                    pool = PooledCounts()
                    for get in getters:
                        value = get(key)
                        if value is None:
                            continue
                        pool.add(unpack_header(value), EXACT)
                        frequency = len(value) + suffix_len
                        inner += (FIELD2, _varint(frequency), value[HEADER_LEN:], suffix)
                        found += 1
                    pooled = pool.encode()
                    inner += (FIELD3, _varint(len(pooled)), pooled)
                    size = sum(len(part) for part in inner)
                    parts += (FIELD1, _varint(size))
                    parts += inner
            if trailer is not None:
                parts.append(trailer(found))
            return b"".join(parts), found

    def _batch_released(
        self,
        keys: list[bytes],
        echoes: list[bytes],
        datasets: list[ServedDataset],
        populations: frozenset[str],
        trailer: Callable[[int], bytes] | None,
    ) -> tuple[bytes, int]:
        """The encoded results when some dataset releases less than its stored record."""
        columns = [(d, d.fast and not populations, d.index.get_many(keys)) for d in datasets]
        release_one = self._release
        suffix = self._identity_suffix
        parts = []
        found = 0
        for row, echo in enumerate(echoes):
            inner = [FIELD1 + _varint(len(echo)) + echo]
            pool = PooledCounts()
            for served, fast, column in columns:
                value = column[row]
                if value is None:
                    continue
                if fast:
                    pool.add(unpack_header(value), EXACT)
                    frequency = value[HEADER_LEN:] + suffix
                else:
                    frequency, counts, precision = release_one(value, served, populations)
                    pool.add(counts, precision)
                inner.append(FIELD2 + _varint(len(frequency)) + frequency)
            found += len(inner) - 1
            pooled = pool.encode()
            inner.append(FIELD3 + _varint(len(pooled)) + pooled)
            result = b"".join(inner)
            parts.append(FIELD1 + _varint(len(result)) + result)
        if trailer is not None:
            parts.append(trailer(found))
        return b"".join(parts), found

    def search_region(
        self, request: allele_service_pb2.SearchRegionRequest, caller: SpiffeId | None = None
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
        datasets = self.select(assembly, request.dataset_ids, caller, lookups=page_size)
        by_id = {d.index.id: d for d in datasets}
        fingerprint = query_fingerprint("SearchRegion", assembly.value, str(key), sorted(by_id))
        resume: tuple[bytes, str] | None = None
        if request.page_token:
            resume = decode_region_state(self.page_tokens.decode(request.page_token, fingerprint))
        first, last = region_bounds(key)
        start_key = resume[0] if resume else None
        scans = [(d.index.id, d.index.scan(first, last, start_key)) for d in datasets]
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
            served = by_id[dataset_id]
            if served.fast:
                frequency = value[HEADER_LEN:] + self._identity_suffix
            else:
                frequency = self._release(value, served, no_populations)[0]
            parts.append(FIELD1 + _varint(len(frequency)) + frequency)
            last_emitted = (stored_key, dataset_id)
        count = len(parts)
        if more and last_emitted is not None:
            token = self.page_tokens.encode(fingerprint, encode_region_state(*last_emitted))
            parts.append(wire.string_field(2, token))
        return LookupResult(b"".join(parts), count, list(by_id))

    def list_datasets(
        self, request: catalog_service_pb2.ListDatasetsRequest
    ) -> catalog_service_pb2.ListDatasetsResponse:
        """The catalogue of this node, optionally one assembly, paged."""
        datasets = self.store.datasets()
        if request.assembly:
            assembly = Assembly.from_proto(request.assembly)
            datasets = [d for d in datasets if d.assembly == assembly]
        page_size = page_size_or_default(request.page_size)
        fingerprint = query_fingerprint("ListDatasets", request.assembly)
        offset = 0
        if request.page_token:
            offset = int.from_bytes(self.page_tokens.decode(request.page_token, fingerprint), "big")
        page = datasets[offset : offset + page_size]
        response = catalog_service_pb2.ListDatasetsResponse(
            datasets=[
                d.metadata.to_proto(self.identity.node_id, self.identity.country) for d in page
            ]
        )
        if offset + page_size < len(datasets):
            state = (offset + page_size).to_bytes(4, "big")
            response.next_page_token = self.page_tokens.encode(fingerprint, state)
        return response

    def get_dataset(
        self, request: catalog_service_pb2.GetDatasetRequest
    ) -> catalog_service_pb2.Dataset:
        """One dataset's catalogue entry."""
        if not request.dataset_id:
            raise InvalidArgumentError(
                "dataset_id", "dataset_id is required", reason="MISSING_FIELD"
            )
        dataset = self.store.dataset(request.dataset_id)
        if dataset is None:
            raise NotFoundError(
                f"dataset {request.dataset_id!r} is not served by node {self.identity.node_id}",
                reason="DATASET_NOT_FOUND",
                metadata={"dataset_id": request.dataset_id},
            )
        return dataset.metadata.to_proto(self.identity.node_id, self.identity.country)
