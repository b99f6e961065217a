"""The batch fast path: keys from the request's bytes, an answer from stored bytes.

:func:`batch_keys` keys a ``BatchLookupVariantsRequest``'s variants in C from its
serialized form; :func:`encode_stored_batch` answers when every dataset of the request
serves its stored record as it is (full record, exact counts, no population filter, no
budget): see :meth:`nodes.serve.lookup.LocalLookup.batch_lookup`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from allelemesh_codec import batch_keys as _compiled_keys
from allelemesh_codec import set_batch_keys

from mesh.errors import InvalidArgumentError
from mesh.model import wire
from mesh.model.genome import CONTIG_CODES, Assembly
from mesh.model.variants import CANONICAL_BASES, chromosome_table
from mesh.model.wire import POOLED_TAG, RESULT_FREQUENCIES_TAG, RESULT_VARIANT_TAG, RESULTS_TAG
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.index.keys import ALLELE_SEPARATOR, MAX_INLINE_ALLELES
from nodes.serve._response import EXACT, NOTHING_POOLED, POOLED_ONE, PooledCounts, pool_one
from nodes.serve._selection import ServedDataset

_varint = wire.varint
# The compiled framing writes the result keys the descriptors define (one place: wire).
set_batch_keys(RESULTS_TAG + RESULT_VARIANT_TAG + RESULT_FREQUENCIES_TAG)

#: The full path of one variant: (variant, row) -> (key, echo), raising InvalidArgumentError.
Normalized = Callable[[allele_pb2.Variant, int], tuple[bytes, bytes]]
_KEY_TABLES: dict[tuple[Assembly, bool], bytes] = {}
_VARIANTS_TAG = wire.field_tag(allele_service_pb2.BatchLookupVariantsRequest, "variants")
_REQUEST = allele_service_pb2.BatchLookupVariantsRequest.DESCRIPTOR.full_name


def key_table(assembly: Assembly, indels: bool) -> bytes:
    """What the compiled :func:`batch_keys` needs to key variants as sent (once each).

    Packed (layout: ``native/allelemesh_codec/_keys.c``) from the one chromosome table
    (:func:`~mesh.model.variants.chromosome_table`), the descriptors' field keys and the
    key module's constants. ``indels``: indels are keyed as sent when nothing trims
    them (False when a reference could left-align them).
    """
    table = _KEY_TABLES.get((assembly, indels))
    if table is None:
        parts = [
            wire.CHROMOSOME_TAG,
            wire.POSITION_TAG,
            wire.REFERENCE_BASES_TAG,
            wire.ALTERNATE_BASES_TAG,
            _VARIANTS_TAG,
            struct.pack(">H", MAX_INLINE_ALLELES),
            ALLELE_SEPARATOR.encode("ascii"),
            bytes([indels, len(CANONICAL_BASES)]),
            CANONICAL_BASES.encode("ascii"),
        ]
        for spelling, (canonical, length) in chromosome_table(assembly).items():
            name = spelling.encode("ascii")
            renamed = b"" if spelling == canonical else canonical.encode("ascii")
            parts += (bytes([len(name)]), name, struct.pack(">BIB", CONTIG_CODES[canonical],
                      length, len(renamed)), renamed)  # fmt: skip
        if any(len(key) != 1 for key in parts[:5]):
            raise RuntimeError("batch_keys: the Variant and variants keys must be one byte")
        table = _KEY_TABLES[(assembly, indels)] = b"".join(parts)
    return table


def batch_keys(
    data: bytes,
    variants: Sequence[allele_pb2.Variant],
    table: bytes,
    normalized: Normalized,
) -> tuple[list[bytes], list[bytes]]:
    """The index key and the encoded result ``Variant`` of every requested variant.

    ``data`` is the serialized request that parsed into ``variants``. Variants keyed as
    sent (valid bases, a chromosome of the table, nothing to trim, and for indels no
    reference to left-align against) are keyed by the compiled ``batch_keys`` and
    echoed as their own bytes (the chromosome made canonical); every other one by
    ``normalized`` (aliases, normalization, errors naming the row), in request order.
    """
    try:
        compiled = _compiled_keys(data, table)
    except ValueError as exc:  # bytes that end inside a field (parsing refuses them first)
        raise InvalidArgumentError(
            "", f"request is not a valid {_REQUEST}: {exc}", reason="MALFORMED_REQUEST"
        ) from None
    if compiled is None or len(compiled[0]) != len(variants):
        rows = range(len(variants))  # a request shape the compiled reader leaves alone
        keys: list[bytes | None] = [None] * len(variants)
        echoes: list[bytes | None] = [None] * len(variants)
    else:
        keys, echoes, rows = compiled  # type: ignore[assignment]
    for row in rows:
        keys[row], echoes[row] = normalized(variants[row], row)
    return keys, echoes  # type: ignore[return-value]  # every None row filled above


def encode_stored_batch(
    keys: list[bytes],
    echoes: list[bytes],
    datasets: list[ServedDataset],
    suffix: bytes,
    trailer: Callable[[int], bytes] | None,
) -> tuple[bytes, int]:
    """The encoded results when every dataset serves its stored bytes as they are.

    One dataset (the common case): one call of the compiled ``frame_batch`` (gets inside
    the read transaction, expansion, each result framed, pooled fields from the totals
    through the pooling rule's :func:`~nodes.serve._response.pool_one`, cached). Several:
    one flat list of byte parts and one join, each value expanded by its dataset's
    :class:`~nodes.index.records.ValueCodec`, pooled counts from the expansion's totals.
    ``suffix`` is the node's encoded identity fields, ended onto every frequency.
    """
    suffix_len = len(suffix)
    parts: list[bytes | memoryview] = []
    found = 0
    with ExitStack() as stack:
        getters = [stack.enter_context(d.index.reader()) for d in datasets]
        if len(getters) == 1:
            # One C call for the whole batch: gets, expansion, framing, pooled fields.
            return datasets[0].index.codec.frame_batch(
                getters[0], keys, echoes, suffix, POOLED_ONE, pool_one, NOTHING_POOLED, trailer
            )
        expanders = [d.index.codec.frequency for d in datasets]
        for key, echo in zip(keys, echoes, strict=True):
            inner: list[bytes | memoryview] = [RESULT_VARIANT_TAG, _varint(len(echo)), echo]
            pool = PooledCounts()
            for get, expand in zip(getters, expanders, strict=True):
                value = get(key)
                if value is None:
                    continue
                stored, total = expand(value)  # type: ignore[arg-type]
                pool.add(total, EXACT)
                inner += (
                    RESULT_FREQUENCIES_TAG,
                    _varint(len(stored) + suffix_len),
                    stored,
                    suffix,
                )
                found += 1
            pooled = pool.encode()
            inner += (POOLED_TAG, _varint(len(pooled)), pooled)
            size = sum(len(part) for part in inner)
            parts += (RESULTS_TAG, _varint(size))
            parts += inner
        if trailer is not None:
            parts.append(trailer(found))
        return b"".join(parts), found
