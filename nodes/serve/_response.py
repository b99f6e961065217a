"""The encoded pieces of a node's responses: identity, outcome, pooled counts, tokens.

:mod:`nodes.serve.lookup` assembles responses from byte slices; the helpers here encode the
small parts computed per request (see :mod:`mesh.model.wire`), each once where it can be.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from functools import cached_property

from mesh.config import default_beacon_id
from mesh.federation import CountPool
from mesh.model import wire
from mesh.model.variants import VariantKey
from mesh.model.wire import POOLED_TAG
from mesh.v1 import allele_pb2
from nodes.index.records import ABSENT

_varint = wire.varint
EXACT = allele_pb2.COUNT_PRECISION_EXACT


@dataclass(frozen=True)
class NodeIdentity:
    """Who answers: stamped on every frequency and outcome this node returns."""

    node_id: str
    country: str
    #: The node's Beacon id; empty: :func:`mesh.config.default_beacon_id`.
    beacon_id: str = ""

    @cached_property
    def beacon(self) -> str:
        """The Beacon id the catalogue names as this node's (``Dataset.beacon_id``)."""
        return self.beacon_id or default_beacon_id(self.node_id, self.country)

    @cached_property
    def outcome_prefix(self) -> bytes:
        """``NodeOutcome.node_id`` and ``country``, encoded once for every outcome."""
        return wire.string_field(wire.OUTCOME_NODE_ID_TAG, self.node_id) + wire.string_field(
            wire.OUTCOME_COUNTRY_TAG, self.country
        )


@dataclass
class LookupResult:
    """An encoded response and what the caller may want to log about it."""

    payload: bytes
    frequency_count: int
    dataset_ids: list[str]
    #: Encoded ``NodeOutcome.datasets`` entries (datasets that gave no rows, and why).
    dataset_outcomes: bytes = b""


class PooledCounts(CountPool):
    """The pooling rule (:class:`mesh.federation.CountPool`) over stored count tuples.

    :data:`~nodes.index.records.ABSENT` marks an unknown count; :meth:`encode` writes
    the pool as an ``AlleleCounts``.
    """

    __slots__ = ()
    UNKNOWN = ABSENT

    def encode(self) -> bytes:
        """The pooled ``AlleleCounts``, encoded."""
        (ac, an, hom, het, hemi), precision = self.result()
        return wire.allele_counts(ac, an, hom, het, hemi, precision)


def variant_message(variant: VariantKey) -> bytes:
    """The serialized ``mesh.v1.Variant`` of a key."""
    return allele_pb2.Variant(
        chromosome=variant.chromosome,
        position=variant.position,
        reference_bases=variant.ref,
        alternate_bases=variant.alt,
    ).SerializeToString()


#: ``pooled`` of a variant no dataset holds (exact zeros, by the rule).
NOTHING_POOLED = wire.len_field(POOLED_TAG, PooledCounts().encode())

#: The total counts of a stored value (their 20 bytes, as the compiled
#: :func:`allelemesh_codec.frame_batch` keys them) -> encoded ``pooled`` field (tag,
#: length, ``AlleleCounts``) of a variant found in one exact dataset. Count profiles
#: repeat a lot (singletons, common sample sizes); filled and bounded (by clearing at
#: 65,536 entries) by ``frame_batch``, which calls :func:`pool_one` on a miss.
POOLED_ONE: dict[bytes, bytes] = {}


def pool_one(total: tuple[int, ...]) -> bytes:
    """The ``pooled`` field of one exact dataset's total counts (the pooling rule)."""
    pool = PooledCounts()
    pool.add(total, EXACT)
    return wire.len_field(POOLED_TAG, pool.encode())


_STATE = struct.Struct(">H")


def encode_region_state(key: bytes, dataset_id: str) -> bytes:
    return _STATE.pack(len(key)) + key + dataset_id.encode("utf-8")


def decode_region_state(state: bytes) -> tuple[bytes, str]:
    (key_len,) = _STATE.unpack_from(state)
    key = state[_STATE.size : _STATE.size + key_len]
    return key, state[_STATE.size + key_len :].decode("utf-8")


_OUTCOME_STATUS_OK = wire.OUTCOME_STATUS_TAG + b"\x00"  # google.rpc.Status{} (OK)
_OUTCOME_LATENCY = wire.OUTCOME_LATENCY_TAG
_OUTCOME_COUNT = wire.OUTCOME_FREQUENCY_COUNT_TAG
_pack_double = struct.Struct("<d").pack


def outcome_bytes(
    identity: NodeIdentity,
    started: float,
    frequency_count: int,
    field: bytes,
    dataset_outcomes: bytes = b"",
) -> bytes:
    """Encode this node's own ``NodeOutcome`` (status OK) as the response's ``field``.

    ``field`` is the response's ``outcomes`` key (``LOOKUP_OUTCOMES_TAG`` and the like).

    Hand-encoded (see :mod:`mesh.model.wire`): it is built once per request on the hot path.
    ``dataset_outcomes`` are encoded ``datasets`` entries (usually none).
    """
    latency_ms = (time.perf_counter() - started) * 1000.0
    encoded = b"".join((
        identity.outcome_prefix,
        _OUTCOME_STATUS_OK,
        _OUTCOME_LATENCY + _pack_double(latency_ms),
        _OUTCOME_COUNT + _varint(frequency_count) if frequency_count else b"",
        dataset_outcomes,
    ))  # fmt: skip
    return field + _varint(len(encoded)) + encoded
