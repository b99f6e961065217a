"""Answers lookups over a node's own datasets, as encoded response messages.

This is the node's hot path. Stored values already hold the serialized
``VariantFrequency`` (see :mod:`nodes.records`), so a response is assembled from
byte slices: the stored frequency, the node's pre-encoded identity fields, and a
pooled ``AlleleCounts`` summed from the 20-byte count headers. Protobuf objects are
built only where a request asks for work on the contents (population filtering).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from google.protobuf import timestamp_pb2

from mesh import wire
from mesh.errors import InvalidArgumentError, NotFoundError
from mesh.genome import Assembly
from mesh.identity import SpiffeId
from mesh.normalize import ReferenceSequence, normalize
from mesh.paging import PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from mesh.variants import VariantKey, canonical_variant, validate_region, validate_variant
from nodes.keys import encode_key, region_bounds
from nodes.policy import (
    OPEN_POLICY,
    BudgetLedger,
    DatasetPolicy,
    Granularity,
    access_denied,
    release,
)
from nodes.records import HEADER, HEADER_LEN, decode_frequency
from nodes.store import DatasetIndex, IndexStore, merge_scans

# Field keys of the response messages (see protos/mesh/v1/allele_service.proto).
_FIELD1 = wire.tag(1, wire.WIRE_LEN)
_FIELD2 = wire.tag(2, wire.WIRE_LEN)
_FIELD3 = wire.tag(3, wire.WIRE_LEN)
_unpack_header = HEADER.unpack_from
_varint = wire.varint
_EXACT = allele_pb2.COUNT_PRECISION_EXACT
_ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
_SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED

MAX_DATASETS_PER_PAGE_TOKEN = 1024


@dataclass(frozen=True)
class NodeIdentity:
    """Who answers: stamped on every frequency and outcome this node returns."""

    node_id: str
    country: str


@dataclass
class LookupResult:
    """An encoded response and what the caller may want to log about it."""

    payload: bytes
    frequency_count: int
    dataset_ids: list[str]


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


class _Pool:
    """Pooled counts over the datasets of one variant (rule: mesh.federation pooling)."""

    __slots__ = ("ac", "an", "contributed", "hemi", "het", "hom", "inexact", "suppressed")

    def __init__(self) -> None:
        self.ac = self.an = self.hom = self.het = self.hemi = 0
        self.contributed = self.inexact = self.suppressed = False

    def add(self, counts: tuple[int, int, int, int, int], precision: int) -> None:
        if precision == _SUPPRESSED:
            self.suppressed = True
            return
        self.contributed = True
        if precision == _ROUNDED:
            self.inexact = True
        self.ac += counts[0]
        self.an += counts[1]
        self.hom += counts[2]
        self.het += counts[3]
        self.hemi += counts[4]

    def encode(self) -> bytes:
        if self.suppressed and not self.contributed:
            precision = _SUPPRESSED
        elif self.inexact or self.suppressed:
            precision = _ROUNDED
        else:
            precision = _EXACT
        return wire.allele_counts(self.ac, self.an, self.hom, self.het, self.hemi, precision)


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
        pool = _Pool()
        for served in datasets:
            value = served.index.get(key)
            if value is None:
                continue
            if served.fast and not populations:
                pool.add(_unpack_header(value), _EXACT)
                frequency = value[HEADER_LEN:] + self._identity_suffix
            else:
                frequency, counts, precision = self._release(value, served, populations)
                pool.add(counts, precision)
            parts.append(_FIELD1 + _varint(len(frequency)) + frequency)
        found = len(parts)
        pooled = pool.encode()
        parts.append(_FIELD3 + _varint(len(pooled)) + pooled)
        return LookupResult(b"".join(parts), found, [d.index.id for d in datasets])

    def batch_lookup(
        self,
        request: allele_service_pb2.BatchLookupVariantsRequest,
        caller: SpiffeId | None = None,
    ) -> LookupResult:
        """Encode a ``BatchLookupVariantsResponse`` (without outcomes), request order kept."""
        assembly = self.assembly_of(request.assembly)
        count = len(request.variants)
        if count > self.max_batch_variants:
            raise InvalidArgumentError(
                "variants",
                f"a batch holds at most {self.max_batch_variants} variants (got {count}); "
                "split it into several calls",
                reason="BATCH_TOO_LARGE",
            )
        keys: list[VariantKey] = []
        for i, variant in enumerate(request.variants):
            try:
                keys.append(self.variant_key(variant, assembly))
            except InvalidArgumentError as error:
                raise error.with_field_prefix(f"variants[{i}]") from None
        encoded_keys = [encode_key(k) for k in keys]
        datasets = self.select(assembly, request.dataset_ids, caller, lookups=max(count, 1))
        populations = frozenset(request.populations)
        columns = [(d, d.fast and not populations, d.index.get_many(encoded_keys))
                   for d in datasets]  # fmt: skip
        release_one = self._release
        suffix = self._identity_suffix
        parts = []
        found = 0
        requested = request.variants
        for row, key in enumerate(keys):
            asked = requested[row]
            if (
                key.position == asked.position
                and key.chromosome == asked.chromosome
                and key.ref == asked.reference_bases
                and key.alt == asked.alternate_bases
            ):
                encoded = asked.SerializeToString()  # already canonical: echo it back
                inner = [_FIELD1 + _varint(len(encoded)) + encoded]
            else:
                inner = [_FIELD1 + _variant_bytes(key)]
            pool = _Pool()
            for served, fast, column in columns:
                value = column[row]
                if value is None:
                    continue
                if fast:
                    pool.add(_unpack_header(value), _EXACT)
                    frequency = value[HEADER_LEN:] + suffix
                else:
                    frequency, counts, precision = release_one(value, served, populations)
                    pool.add(counts, precision)
                inner.append(_FIELD2 + _varint(len(frequency)) + frequency)
            found += len(inner) - 1
            pooled = pool.encode()
            inner.append(_FIELD3 + _varint(len(pooled)) + pooled)
            result = b"".join(inner)
            parts.append(_FIELD1 + _varint(len(result)) + result)
        return LookupResult(b"".join(parts), found, [d.index.id for d in datasets])

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
            resume = _decode_region_state(self.page_tokens.decode(request.page_token, fingerprint))
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
            parts.append(_FIELD1 + _varint(len(frequency)) + frequency)
            last_emitted = (stored_key, dataset_id)
        count = len(parts)
        if more and last_emitted is not None:
            token = self.page_tokens.encode(fingerprint, _encode_region_state(*last_emitted))
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
            datasets=[self.dataset_message(d) for d in page]
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
        return self.dataset_message(dataset)

    def dataset_message(self, dataset: DatasetIndex) -> catalog_service_pb2.Dataset:
        """The ``mesh.v1.Dataset`` of an opened index."""
        meta = dataset.metadata
        created = timestamp_pb2.Timestamp()
        if meta.created_time:
            created.FromDatetime(datetime.fromisoformat(meta.created_time))
        return catalog_service_pb2.Dataset(
            id=meta.id,
            title=meta.title,
            description=meta.description,
            assembly=meta.assembly.to_proto(),
            node_id=self.identity.node_id,
            country=self.identity.country,
            sample_count=meta.sample_count,
            variant_count=meta.variant_count,
            populations=list(meta.populations),
            created_time=created,
            source_sha256=meta.source_sha256,
        )


def _variant_bytes(variant: VariantKey) -> bytes:
    encoded = allele_pb2.Variant(
        chromosome=variant.chromosome,
        position=variant.position,
        reference_bases=variant.ref,
        alternate_bases=variant.alt,
    ).SerializeToString()
    return _varint(len(encoded)) + encoded


_STATE = struct.Struct(">H")


def _encode_region_state(key: bytes, dataset_id: str) -> bytes:
    return _STATE.pack(len(key)) + key + dataset_id.encode("utf-8")


def _decode_region_state(state: bytes) -> tuple[bytes, str]:
    (key_len,) = _STATE.unpack_from(state)
    key = state[_STATE.size : _STATE.size + key_len]
    return key, state[_STATE.size + key_len :].decode("utf-8")


_OUTCOME_STATUS_OK = wire.tag(3, wire.WIRE_LEN) + b"\x00"  # google.rpc.Status{} (OK)
_OUTCOME_LATENCY = wire.tag(4, wire.WIRE_FIXED64)
_OUTCOME_COUNT = wire.tag(5, wire.WIRE_VARINT)
_pack_double = struct.Struct("<d").pack


def outcome_bytes(
    identity: NodeIdentity, started: float, frequency_count: int, field: bytes
) -> bytes:
    """Encode this node's own ``NodeOutcome`` (status OK) as response field ``field``.

    Hand-encoded (see :mod:`mesh.wire`): it is built once per request on the hot path.
    """
    latency_ms = (time.perf_counter() - started) * 1000.0
    encoded = b"".join((
        wire.string_field(1, identity.node_id),
        wire.string_field(2, identity.country),
        _OUTCOME_STATUS_OK,
        _OUTCOME_LATENCY + _pack_double(latency_ms),
        _OUTCOME_COUNT + _varint(frequency_count) if frequency_count else b"",
    ))  # fmt: skip
    return field + _varint(len(encoded)) + encoded
