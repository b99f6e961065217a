"""The batch fast path: a batch answered from stored bytes, one join, no protobuf objects.

Used when every dataset of the request serves its stored record as it is (full
record, exact counts, no population filter, no budget): see
:meth:`nodes.serve.lookup.LocalLookup.batch_lookup`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from allelemesh_codec import set_batch_keys

from mesh.model import wire
from mesh.model.wire import POOLED_TAG, RESULT_FREQUENCIES_TAG, RESULT_VARIANT_TAG, RESULTS_TAG
from nodes.serve._response import EXACT, NOTHING_POOLED, POOLED_ONE, PooledCounts, pool_one
from nodes.serve._selection import ServedDataset

_varint = wire.varint
# The compiled framing writes the result keys the descriptors define (one place: wire).
set_batch_keys(RESULTS_TAG + RESULT_VARIANT_TAG + RESULT_FREQUENCIES_TAG)


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
