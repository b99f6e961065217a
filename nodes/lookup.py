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
from datetime import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.protobuf import timestamp_pb2

from mesh import wire
from mesh.errors import InvalidArgumentError, NotFoundError
from mesh.genome import Assembly
from mesh.normalize import ReferenceSequence, normalize
from mesh.paging import PageTokenCodec, page_size_or_default, query_fingerprint
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from mesh.variants import VariantKey, validate_region, validate_variant
from nodes.keys import encode_key, region_bounds
from nodes.records import HEADER, HEADER_LEN, decode_frequency
from nodes.store import DatasetIndex, IndexStore, merge_scans

# Field keys of the response messages (see protos/mesh/v1/allele_service.proto).
_FIELD1 = wire.tag(1, wire.WIRE_LEN)
_FIELD2 = wire.tag(2, wire.WIRE_LEN)
_FIELD3 = wire.tag(3, wire.WIRE_LEN)
_unpack_header = HEADER.unpack_from
_varint = wire.varint

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
    ) -> None:
        self.store = store
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

    def select(self, assembly: Assembly, dataset_ids: Sequence[str]) -> list[DatasetIndex]:
        """The datasets a request covers: those named (all if none) of its assembly."""
        if not dataset_ids:
            return [d for d in self.store.datasets() if d.assembly == assembly]
        chosen = []
        for i, dataset_id in enumerate(dict.fromkeys(dataset_ids)):
            dataset = self.store.dataset(dataset_id)
            if dataset is None:
                raise NotFoundError(
                    f"dataset {dataset_id!r} is not served by node {self.identity.node_id}",
                    reason="DATASET_NOT_FOUND",
                    metadata={"dataset_id": dataset_id, "field": f"dataset_ids[{i}]"},
                )
            if dataset.assembly == assembly:
                chosen.append(dataset)
        return sorted(chosen, key=lambda d: d.id)

    def variant_key(self, variant: allele_pb2.Variant, assembly: Assembly) -> VariantKey:
        """Validate and normalize a requested variant exactly as the builder did."""
        key = validate_variant(
            variant.chromosome,
            variant.position,
            variant.reference_bases,
            variant.alternate_bases,
            assembly,
        )
        return normalize(key, self.references.get(assembly))

    def _frequency_bytes(self, value: bytes, populations: frozenset[str]) -> bytes:
        if not populations:
            return value[HEADER_LEN:] + self._identity_suffix
        frequency = decode_frequency(value)
        kept = [p for p in frequency.populations if p.population in populations]
        del frequency.populations[:]
        frequency.populations.extend(kept)
        return frequency.SerializeToString() + self._identity_suffix

    # -- RPCs -------------------------------------------------------------------------

    def lookup_variant(self, request: allele_service_pb2.LookupVariantRequest) -> LookupResult:
        """Encode a ``LookupVariantResponse`` (without outcomes) for one variant."""
        assembly = self.assembly_of(request.assembly)
        if not request.HasField("variant"):
            raise InvalidArgumentError("variant", "variant is required", reason="MISSING_FIELD")
        try:
            key = encode_key(self.variant_key(request.variant, assembly))
        except InvalidArgumentError as error:
            raise error.with_field_prefix("variant") from None
        datasets = self.select(assembly, request.dataset_ids)
        populations = frozenset(request.populations)
        parts = []
        ac = an = hom = het = hemi = 0
        for dataset in datasets:
            value = dataset.get(key)
            if value is None:
                continue
            c = _unpack_header(value)
            ac += c[0]
            an += c[1]
            hom += c[2]
            het += c[3]
            hemi += c[4]
            frequency = self._frequency_bytes(value, populations)
            parts.append(_FIELD1 + _varint(len(frequency)) + frequency)
        pooled = wire.allele_counts(ac, an, hom, het, hemi)
        parts.append(_FIELD3 + _varint(len(pooled)) + pooled)
        return LookupResult(b"".join(parts), len(parts) - 1, [d.id for d in datasets])

    def batch_lookup(self, request: allele_service_pb2.BatchLookupVariantsRequest) -> LookupResult:
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
        datasets = self.select(assembly, request.dataset_ids)
        columns = [d.get_many(encoded_keys) for d in datasets]
        populations = frozenset(request.populations)
        frequency_bytes = self._frequency_bytes
        parts = []
        found = 0
        for row, variant in enumerate(keys):
            inner = [_FIELD1 + _variant_bytes(variant)]
            ac = an = hom = het = hemi = 0
            for column in columns:
                value = column[row]
                if value is None:
                    continue
                c = _unpack_header(value)
                ac += c[0]
                an += c[1]
                hom += c[2]
                het += c[3]
                hemi += c[4]
                frequency = frequency_bytes(value, populations)
                inner.append(_FIELD2 + _varint(len(frequency)) + frequency)
            found += len(inner) - 1
            pooled = wire.allele_counts(ac, an, hom, het, hemi)
            inner.append(_FIELD3 + _varint(len(pooled)) + pooled)
            result = b"".join(inner)
            parts.append(_FIELD1 + _varint(len(result)) + result)
        return LookupResult(b"".join(parts), found, [d.id for d in datasets])

    def search_region(self, request: allele_service_pb2.SearchRegionRequest) -> LookupResult:
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
        datasets = self.select(assembly, request.dataset_ids)
        fingerprint = query_fingerprint(
            "SearchRegion", assembly.value, str(key), [d.id for d in datasets]
        )
        resume: tuple[bytes, str] | None = None
        if request.page_token:
            resume = _decode_region_state(self.page_tokens.decode(request.page_token, fingerprint))
        first, last = region_bounds(key)
        start_key = resume[0] if resume else None
        scans = [(d.id, d.scan(first, last, start_key)) for d in datasets]
        parts = []
        last_emitted: tuple[bytes, str] | None = None
        more = False
        for stored_key, dataset_id, value in merge_scans(scans):
            if resume is not None and (stored_key, dataset_id) <= resume:
                continue
            if len(parts) == page_size:
                more = True
                break
            frequency = value[HEADER_LEN:] + self._identity_suffix
            parts.append(_FIELD1 + _varint(len(frequency)) + frequency)
            last_emitted = (stored_key, dataset_id)
        count = len(parts)
        if more and last_emitted is not None:
            token = self.page_tokens.encode(fingerprint, _encode_region_state(*last_emitted))
            parts.append(wire.string_field(2, token))
        return LookupResult(b"".join(parts), count, [d.id for d in datasets])

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


def outcome_bytes(
    identity: NodeIdentity, started: float, frequency_count: int, field: bytes
) -> bytes:
    """Encode this node's own ``NodeOutcome`` (status OK) as response field ``field``."""
    outcome = allele_pb2.NodeOutcome(
        node_id=identity.node_id,
        country=identity.country,
        latency_ms=(time.perf_counter() - started) * 1000.0,
        frequency_count=frequency_count,
    )
    outcome.status.SetInParent()
    encoded = outcome.SerializeToString()
    return field + _varint(len(encoded)) + encoded
