"""The point lookup's fast path: the key from the request's bytes, a cached selection.

:meth:`nodes.serve.lookup.LocalLookup.lookup_variant` asks :class:`PointPlans` for the
datasets a request covers when that answer cannot depend on who asks: every dataset it
would cover is open (no ``allow`` list), has no query budget and releases exact counts
(so nothing is withheld, charged or coarsened, and no dataset outcome is reported). Such
a selection is a pure function of (assembly, requested dataset ids, the store's
versions), cached per that key and dropped when the store swaps a dataset
(:attr:`nodes.serve.store.IndexStore.generation`). Everything else (a dataset with rules,
a budget or a privacy floor, unknown dataset ids, an assembly no dataset holds, a
population filter) takes the general path, which also raises every error.

:func:`point_key` keys the variant with the batch path's compiled reader
(``allelemesh_codec.batch_keys``: ``LookupVariantRequest.variant`` has the field number of
``BatchLookupVariantsRequest.variants``); a variant it leaves alone (aliases, lower case,
indels to left-align, errors) is keyed by the full path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from allelemesh_codec import batch_keys as _compiled_keys

from mesh.model.genome import Assembly
from mesh.v1 import allele_service_pb2
from nodes.serve._batch import key_table
from nodes.serve._response import pool_one
from nodes.serve._selection import Selection
from nodes.serve.policy import OPEN_POLICY, DatasetPolicy
from nodes.serve.store import DatasetIndex, IndexStore

#: Bounds of the caches below (cleared when full: request shapes are few in practice).
_MAX_PLANS = 1024
_MAX_POOLED = 65_536

if (
    allele_service_pb2.LookupVariantRequest.DESCRIPTOR.fields_by_name["variant"].number
    != allele_service_pb2.BatchLookupVariantsRequest.DESCRIPTOR.fields_by_name["variants"].number
):  # pragma: no cover - a proto change the compiled reader would misread
    raise RuntimeError("point_key: LookupVariantRequest.variant must be numbered like variants")


def point_key(data: bytes, assembly: Assembly, indels: bool) -> bytes | None:
    """The index key of a ``LookupVariantRequest``'s variant as sent, or ``None``.

    ``None``: the full path must key it (a variant the compiled reader leaves alone,
    or a request shape it does not read, e.g. the variant field sent twice).
    """
    try:
        compiled = _compiled_keys(data, key_table(assembly, indels))
    except ValueError:  # protobuf parsed these bytes: let the full path decide
        return None
    if compiled is None:
        return None
    keys, _, rows = compiled
    if len(keys) != 1 or rows:
        return None
    return keys[0]


class PointPlans:
    """Caller-independent selections of point lookups, per assembly and dataset ids."""

    __slots__ = ("_generation", "_plans", "_policies", "_pooled", "_store")

    def __init__(self, store: IndexStore, policies: dict[str, DatasetPolicy]) -> None:
        self._store = store
        self._policies = policies
        self._generation = store.generation
        #: (assembly, requested ids) -> covered indexes and their ids (None: general path).
        self._plans: dict[
            tuple[Assembly, tuple[str, ...]],
            tuple[tuple[DatasetIndex, ...], tuple[str, ...]] | None,
        ] = {}
        #: Total counts of one exact dataset's frequency -> its encoded ``pooled`` field.
        self._pooled: dict[tuple[int, ...], bytes] = {}

    def get(
        self,
        assembly: Assembly,
        dataset_ids: Sequence[str],
        select: Callable[[], Selection],
    ) -> tuple[tuple[DatasetIndex, ...], tuple[str, ...]] | None:
        """The indexes a request covers, or ``None`` when its answer may depend on the caller.

        ``select`` builds the request's selection by the general rule (called once per
        key and store generation, only when the selection cannot depend on the caller).
        """
        if self._store.generation != self._generation:
            self._plans.clear()  # a dataset was swapped: the indexes are others now
            self._generation = self._store.generation
        key = (assembly, tuple(dataset_ids))
        try:
            return self._plans[key]
        except KeyError:
            pass
        plan = self._plan(dataset_ids, select)
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _plan(
        self, dataset_ids: Sequence[str], select: Callable[[], Selection]
    ) -> tuple[tuple[DatasetIndex, ...], tuple[str, ...]] | None:
        store = self._store
        ids = list(dict.fromkeys(dataset_ids)) if dataset_ids else store.dataset_ids
        if any(store.dataset(i) is None for i in ids):
            return None  # the general path names the unknown one
        for dataset_id in ids:
            policy = self._policies.get(dataset_id, OPEN_POLICY)
            if policy.rules is not None or policy.budget is not None:
                return None
            if not policy.privacy.exact:
                return None
        selection = select()  # raises for an assembly none of them holds: not cached
        if selection.notes or not all(d.fast for d in selection.datasets):
            return None  # pragma: no cover - open, unbudgeted, exact datasets are fast
        indexes = tuple(d.index for d in selection.datasets)
        return indexes, tuple(i.id for i in indexes)

    def pooled_one(self, total: tuple[int, ...]) -> bytes:
        """The ``pooled`` field of a variant one exact dataset holds (:func:`pool_one`)."""
        pooled = self._pooled.get(total)
        if pooled is None:
            if len(self._pooled) >= _MAX_POOLED:
                self._pooled.clear()
            pooled = self._pooled[total] = pool_one(total)
        return pooled
