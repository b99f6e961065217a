"""The protobuf wire encoding of counts, by hand: the one encoder of the node's hot paths.

Building an index value and serving a lookup are mostly copying bytes: the builder
writes each ``VariantFrequency`` as wire bytes once (:mod:`nodes.build._encode`), and the
servicers assemble responses from stored bytes (:mod:`nodes.serve.lookup`). A
length-delimited field is ``tag | varint(len) | payload`` and protobuf parsers merge
repeated occurrences, so concatenation is a valid encoding. Only the few small messages
computed per request (pooled counts, outcomes) are encoded field by field.

Every field key below is named after its field and read from the generated descriptors
at import time, so none can drift from ``protos/mesh/v1/*.proto``; a key two messages
share (``frequencies`` of a lookup and of a region page) is checked to be the same
(:func:`shared_tag`). The tests check every helper against ``SerializeToString`` of the
generated classes.
"""

from __future__ import annotations

import struct

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2

_DOUBLE = struct.Struct("<d")

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
_WIRE_TYPES = {
    FieldDescriptor.TYPE_DOUBLE: WIRE_FIXED64,
    FieldDescriptor.TYPE_INT32: WIRE_VARINT,
    FieldDescriptor.TYPE_INT64: WIRE_VARINT,
    FieldDescriptor.TYPE_UINT32: WIRE_VARINT,
    FieldDescriptor.TYPE_UINT64: WIRE_VARINT,
    FieldDescriptor.TYPE_BOOL: WIRE_VARINT,
    FieldDescriptor.TYPE_ENUM: WIRE_VARINT,
    FieldDescriptor.TYPE_STRING: WIRE_LEN,
    FieldDescriptor.TYPE_BYTES: WIRE_LEN,
    FieldDescriptor.TYPE_MESSAGE: WIRE_LEN,
}


def _varint_slow(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


#: Every varint below this is pre-encoded (two bytes or fewer): lengths of response
#: parts and most counts hit the table, which costs one list index.
SMALL_VARINT_LIMIT = 1 << 14
#: ``SMALL_VARINTS[n]`` is ``varint(n)`` for ``0 <= n < SMALL_VARINT_LIMIT``.
SMALL_VARINTS: list[bytes] = [_varint_slow(i) for i in range(SMALL_VARINT_LIMIT)]
#: The first two bytes of the varint of any ``n >= 2**14``: its low 14 bits, continued.
_LOW14 = [bytes(((i & 0x7F) | 0x80, (i >> 7) | 0x80)) for i in range(SMALL_VARINT_LIMIT)]


def varint(value: int) -> bytes:
    """The base-128 varint of a non-negative int (two's complement if < 0); tables below 2**28."""
    # Literal bounds (16384 = SMALL_VARINT_LIMIT, 2**28): this runs for every count.
    if value < 16384:
        if value >= 0:
            return SMALL_VARINTS[value]
    elif value < 268_435_456:
        return _LOW14[value & 0x3FFF] + SMALL_VARINTS[value >> 14]
    if value < 0:
        value += 1 << 64
    return _varint_slow(value)


def tag(field_number: int, wire_type: int) -> bytes:
    """Return the encoded key of a field."""
    return varint((field_number << 3) | wire_type)


def field_tag(message: type[Message], name: str) -> bytes:
    """The encoded key of ``message``'s field ``name``, read from its descriptor."""
    field = message.DESCRIPTOR.fields_by_name[name]
    return tag(field.number, _WIRE_TYPES[field.type])


def shared_tag(*fields: tuple[type[Message], str]) -> bytes:
    """The one key of fields of several messages that the encoders write with one key.

    Raises at import if the protos ever give them different keys: code that writes one
    key for all of them would otherwise break silently.
    """
    keys = {field_tag(message, name) for message, name in fields}
    if len(keys) != 1:
        raise RuntimeError(f"fields {fields} no longer share a wire key")
    return keys.pop()


#: The summed count fields of ``mesh.v1.AlleleCounts``, in the order of count tuples
#: (AC, AN, hom, het, hemi) everywhere: pooling, stored totals.
COUNT_FIELDS = (
    "allele_count",
    "allele_number",
    "homozygous_count",
    "heterozygous_count",
    "hemizygous_count",
)
# mesh.v1.AlleleCounts
AC_TAG = field_tag(allele_pb2.AlleleCounts, "allele_count")
AN_TAG = field_tag(allele_pb2.AlleleCounts, "allele_number")
AF_TAG = field_tag(allele_pb2.AlleleCounts, "allele_frequency")
HOM_TAG = field_tag(allele_pb2.AlleleCounts, "homozygous_count")
HET_TAG = field_tag(allele_pb2.AlleleCounts, "heterozygous_count")
HEMI_TAG = field_tag(allele_pb2.AlleleCounts, "hemizygous_count")
PRECISION_TAG = field_tag(allele_pb2.AlleleCounts, "precision")
# mesh.v1.Variant
CHROMOSOME_TAG = field_tag(allele_pb2.Variant, "chromosome")
POSITION_TAG = field_tag(allele_pb2.Variant, "position")
REFERENCE_BASES_TAG = field_tag(allele_pb2.Variant, "reference_bases")
ALTERNATE_BASES_TAG = field_tag(allele_pb2.Variant, "alternate_bases")
# mesh.v1.VariantFrequency and its PopulationFrequency entries
VARIANT_TAG = field_tag(allele_pb2.VariantFrequency, "variant")
DATASET_ID_TAG = field_tag(allele_pb2.VariantFrequency, "dataset_id")
NODE_ID_TAG = field_tag(allele_pb2.VariantFrequency, "node_id")
COUNTRY_TAG = field_tag(allele_pb2.VariantFrequency, "country")
COUNTS_TAG = field_tag(allele_pb2.VariantFrequency, "counts")
POPULATIONS_TAG = field_tag(allele_pb2.VariantFrequency, "populations")
FILTERS_TAG = field_tag(allele_pb2.VariantFrequency, "filters")
POPULATION_TAG = field_tag(allele_pb2.PopulationFrequency, "population")
POPULATION_COUNTS_TAG = field_tag(allele_pb2.PopulationFrequency, "counts")
# mesh.v1.NodeOutcome
OUTCOME_NODE_ID_TAG = field_tag(allele_pb2.NodeOutcome, "node_id")
OUTCOME_COUNTRY_TAG = field_tag(allele_pb2.NodeOutcome, "country")
OUTCOME_STATUS_TAG = field_tag(allele_pb2.NodeOutcome, "status")
OUTCOME_LATENCY_TAG = field_tag(allele_pb2.NodeOutcome, "latency_ms")
OUTCOME_FREQUENCY_COUNT_TAG = field_tag(allele_pb2.NodeOutcome, "frequency_count")
OUTCOME_DATASETS_TAG = field_tag(allele_pb2.NodeOutcome, "datasets")
# The responses (mesh.v1.allele_service)
_LOOKUP = allele_service_pb2.LookupVariantResponse
_REGION = allele_service_pb2.SearchRegionResponse
_RESULT = allele_service_pb2.VariantLookupResult
FREQUENCIES_TAG = shared_tag((_LOOKUP, "frequencies"), (_REGION, "frequencies"))
POOLED_TAG = shared_tag((_LOOKUP, "pooled"), (_RESULT, "pooled"))
LOOKUP_OUTCOMES_TAG = field_tag(_LOOKUP, "outcomes")
# LookupVariantIdResponse shares results and outcomes with the batch: its answer is one.
_BATCH = allele_service_pb2.BatchLookupVariantsResponse
_BY_ID = allele_service_pb2.LookupVariantIdResponse
RESULTS_TAG = shared_tag((_BATCH, "results"), (_BY_ID, "results"))
BATCH_OUTCOMES_TAG = shared_tag((_BATCH, "outcomes"), (_BY_ID, "outcomes"))
VARIANT_ID_TAG = field_tag(_BY_ID, "variant_id")
RESULT_VARIANT_TAG = field_tag(_RESULT, "variant")
RESULT_FREQUENCIES_TAG = field_tag(_RESULT, "frequencies")
NEXT_PAGE_TOKEN_TAG = field_tag(_REGION, "next_page_token")
REGION_OUTCOMES_TAG = field_tag(_REGION, "outcomes")
DATASETS_OUTCOMES_TAG = field_tag(catalog_service_pb2.ListDatasetsResponse, "outcomes")


def len_field(field_tag: bytes, payload: bytes) -> bytes:
    """Return a length-delimited field: ``tag | varint(len) | payload``."""
    return field_tag + varint(len(payload)) + payload


def string_field(field_tag: bytes, text: str) -> bytes:
    """Return a string field, or nothing for the empty string (proto3 default)."""
    if not text:
        return b""
    return len_field(field_tag, text.encode("utf-8"))


def allele_counts(
    allele_count: int | None,
    allele_number: int | None,
    homozygous: int | None,
    heterozygous: int | None,
    hemizygous: int | None,
    precision: int = allele_pb2.COUNT_PRECISION_EXACT,
    allele_frequency: float | None = None,
) -> bytes:
    """Encode a ``mesh.v1.AlleleCounts``; every count has presence (``None``: absent).

    A given count is encoded even when it is 0. AF is AC/AN when both are known and AN
    is not 0, else ``allele_frequency`` (the source's own), else absent.
    """
    parts = []
    if allele_count is not None:
        parts.append(AC_TAG + varint(allele_count))
    if allele_number is not None:
        parts.append(AN_TAG + varint(allele_number))
    if allele_count is not None and allele_number:
        parts.append(AF_TAG + _DOUBLE.pack(allele_count / allele_number))
    elif allele_frequency is not None:
        parts.append(AF_TAG + _DOUBLE.pack(allele_frequency))
    if homozygous is not None:
        parts.append(HOM_TAG + varint(homozygous))
    if heterozygous is not None:
        parts.append(HET_TAG + varint(heterozygous))
    if hemizygous is not None:
        parts.append(HEMI_TAG + varint(hemizygous))
    if precision:
        parts.append(PRECISION_TAG + varint(precision))
    return b"".join(parts)


def node_identity_fields(node_id: str, country: str) -> bytes:
    """Encode ``VariantFrequency.node_id`` and ``country``, appended to stored bytes."""
    return string_field(NODE_ID_TAG, node_id) + string_field(COUNTRY_TAG, country)
