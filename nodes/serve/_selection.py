"""The datasets one request covers, and what it reports about those that gave no rows.

:meth:`nodes.serve.lookup.LocalLookup.select` builds a :class:`Selection`; the RPCs charge
budgeted datasets through it (:mod:`nodes.serve.budgets`) and end with
:meth:`Selection.finish`, which gives the encoded ``NodeOutcome.datasets`` entries
(a withheld dataset, a spent budget) for the node's own outcome. Requests over open
datasets only never touch the ledger, and report nothing extra.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from google.rpc import status_pb2

from mesh.errors import MeshError
from mesh.model import wire
from mesh.plumbing import callctx
from mesh.v1 import allele_pb2
from nodes.serve.budgets import Ask, BudgetLedger, Grant, spent_error
from nodes.serve.policy import DatasetPolicy, Granularity
from nodes.serve.store import DatasetIndex

#: ``NodeOutcome.datasets`` (field 6).
_DATASETS_FIELD = wire.OUTCOME_DATASETS_TAG


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


def dataset_outcome(dataset_id: str, status: status_pb2.Status) -> bytes:
    """One encoded ``NodeOutcome.datasets`` entry."""
    message = allele_pb2.DatasetOutcome(dataset_id=dataset_id, status=status)
    return wire.len_field(_DATASETS_FIELD, message.SerializeToString())


class ScanStop:
    """Ends one dataset's scan inside a merged region scan (its budget cap is reached)."""

    __slots__ = ("stopped",)

    def __init__(self) -> None:
        self.stopped = False

    def set(self) -> None:
        """The scan yields nothing more (the merge drops it at its next pull)."""
        self.stopped = True

    def wrap(self, scan: Iterator[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        """``scan``, ending as soon as :meth:`set` was called."""
        try:
            for item in scan:
                if self.stopped:
                    return
                yield item
        finally:
            close = getattr(scan, "close", None)
            if close is not None:
                close()


class Selection:
    """Datasets a request covers (as the caller may see them) and notes on the others.

    A plain slotted class: one is built per request on the hot path.
    """

    __slots__ = ("budgeted", "datasets", "explicit", "notes")

    def __init__(self, explicit: bool) -> None:
        self.datasets: list[ServedDataset] = []
        #: The request named its datasets.
        self.explicit = explicit
        #: Whether any covered dataset has a query budget.
        self.budgeted = False
        #: Encoded ``DatasetOutcome`` entries, in the order they arose.
        self.notes: list[bytes] = []

    def add(self, served: ServedDataset) -> None:
        """Cover ``served``."""
        self.datasets.append(served)
        if served.policy.budget is not None:
            self.budgeted = True

    def refuse(self, dataset_id: str, error: MeshError) -> None:
        """Report ``dataset_id`` as giving (some) rows not, for ``error``."""
        self.notes.append(dataset_outcome(dataset_id, error.to_status()))

    def charge(self, ledger: BudgetLedger, rows: dict[str, int]) -> dict[str, Grant]:
        """Charge the origin ``rows[id]`` for each budgeted dataset; note every refusal."""
        asks = []
        for served in self.datasets:
            budget = served.policy.budget
            if budget is not None:
                asks.append(Ask(served.index.id, budget, rows.get(served.index.id, 0)))
        grants = ledger.take(callctx.current().origin, asks)
        for grant in grants:
            if grant.refusal is not None:
                self.refuse(grant.dataset_id, grant.refusal)
        return {g.dataset_id: g for g in grants}

    def limit(
        self, ledger: BudgetLedger, columns: Sequence[list[bytes | None]]
    ) -> Sequence[list[bytes | None]]:
        """``columns[i]`` (dataset i's value per requested variant) cut to what budgets allow.

        A budgeted dataset is charged for the variants it holds; past its budget, the rest
        of its column reads as absent (and is reported).
        """
        held = {
            d.index.id: sum(v is not None for v in column)
            for d, column in zip(self.datasets, columns, strict=True)
            if d.policy.budget is not None
        }
        grants = self.charge(ledger, held)
        limited = list(columns)
        for i, served in enumerate(self.datasets):
            grant = grants.get(served.index.id)
            if grant is None or grant.granted >= held[served.index.id]:
                continue
            keep, column = grant.granted, list(limited[i])
            for row, value in enumerate(column):
                if value is not None:
                    if keep:
                        keep -= 1
                    else:
                        column[row] = None
            limited[i] = column
        return limited

    def finish(self) -> bytes:
        """The encoded dataset outcomes (a budget never fails the request: it is reported)."""
        return b"".join(self.notes) if self.notes else b""

    def reserve(self, ledger: BudgetLedger, page_size: int) -> dict[str, Grant]:
        """Hold up to ``page_size`` rows of each budgeted dataset for one region page.

        A dataset whose budget is spent is refused here (and left out of the scan); the
        others get a cap: the rows they may add to the page. :meth:`settle` gives back
        what the page did not use.
        """
        asks = [
            Ask(d.index.id, d.policy.budget, page_size)
            for d in self.datasets
            if d.policy.budget is not None
        ]
        held = {}
        for grant in ledger.take(callctx.current().origin, asks):
            if grant.granted:
                held[grant.dataset_id] = grant
            elif grant.refusal is not None:
                self.refuse(grant.dataset_id, grant.refusal)
        return held

    def settle(
        self, ledger: BudgetLedger, held: dict[str, Grant], used: dict[str, int], cut: set[str]
    ) -> None:
        """Refund what a page held but did not use; report datasets cut short by the cap."""
        grants = list(held.values())
        unused = [g.granted - used.get(g.dataset_id, 0) for g in grants]
        ledger.refund(callctx.current().origin, grants, unused)
        budgets = {d.index.id: d.policy.budget for d in self.datasets}
        for dataset_id in sorted(cut):
            budget = budgets[dataset_id]
            assert budget is not None
            retry_s = held[dataset_id].retry_s
            self.refuse(dataset_id, spent_error(dataset_id, budget, used[dataset_id], retry_s))
