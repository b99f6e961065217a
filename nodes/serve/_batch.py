"""The batch fast path: a batch answered from stored bytes, one join, no protobuf objects.

Used when every dataset of the request serves its stored record as it is (full
record, exact counts, no population filter, no budget): see
:meth:`nodes.serve.lookup.LocalLookup.batch_lookup`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from mesh.model import wire
from mesh.model.wire import POOLED_TAG, RESULT_FREQUENCIES_TAG, RESULT_VARIANT_TAG, RESULTS_TAG
from nodes.serve._response import (
    EXACT,
    NOTHING_POOLED,
    NOTHING_POOLED_LEN,
    POOLED_ONE,
    PooledCounts,
    pool_one,
)
from nodes.serve._selection import ServedDataset

_varint = wire.varint


def encode_stored_batch(
    keys: list[bytes],
    echoes: list[bytes],
    datasets: list[ServedDataset],
    suffix: bytes,
    trailer: Callable[[int], bytes] | None,
) -> tuple[bytes, int]:
    """The encoded results when every dataset serves its stored bytes as they are.

    One flat list of byte parts and one join: each stored value expanded by its
    dataset's :class:`~nodes.index.records.ValueCodec` (read inside its transaction), pooled
    counts from the totals the expansion returns.
    ``suffix`` is the node's encoded identity fields, ended onto every frequency.
    """
    suffix_len = len(suffix)
    small, limit, varint = wire.SMALL_VARINTS, wire.SMALL_VARINT_LIMIT, _varint
    parts: list[bytes | memoryview] = []
    add = parts.extend
    found = 0
    with ExitStack() as stack:
        getters = [stack.enter_context(d.index.reader()) for d in datasets]
        if len(getters) == 1:
            get = getters[0]
            expand = datasets[0].index.codec.frequency
            pooled_of = POOLED_ONE.get
            for key, echo in zip(keys, echoes, strict=True):
                size = len(echo)
                echo_len = small[size] if size < limit else varint(size)
                value = get(key)
                if value is None:
                    size += 1 + len(echo_len) + NOTHING_POOLED_LEN
                    row_len = small[size] if size < limit else varint(size)
                    add((RESULTS_TAG, row_len, RESULT_VARIANT_TAG, echo_len, echo, NOTHING_POOLED))
                    continue
                stored, total = expand(value)  # type: ignore[arg-type]
                pooled = pooled_of(total) or pool_one(total)
                frequency = len(stored) + suffix_len
                frequency_len = small[frequency] if frequency < limit else varint(frequency)
                size += 2 + len(echo_len) + len(frequency_len) + frequency + len(pooled)
                row_len = small[size] if size < limit else varint(size)
                add((RESULTS_TAG, row_len, RESULT_VARIANT_TAG, echo_len, echo,
                     RESULT_FREQUENCIES_TAG, frequency_len, stored, suffix, pooled))  # fmt: skip
                found += 1
        else:
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
