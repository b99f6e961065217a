"""Query budgets: how many rows one origin may take from one dataset per sliding window.

A dataset's ``query_budget = { lookups = N, per_seconds = S }`` lets each *origin*
(``mesh.plumbing.callctx.current().origin``: the verified principal a request started with,
else the immediate caller) take at most N rows from that dataset in any window of S
seconds, whichever door the request came through (directly, through a peer node,
through a gateway). Rows are what the dataset returns: a lookup costs 1 for each
budgeted dataset that holds the variant, a batch 1 per variant a dataset holds, a
region page 1 per row the dataset contributes to the page. A dataset without a
budget never touches the ledger.

A spent budget refuses only that dataset (a ``DatasetOutcome`` with
``RESOURCE_EXHAUSTED`` and a ``RetryInfo``); other datasets still answer. Once the
budget is spent, the dataset is refused whether or not it holds what was asked, so a
refusal says nothing about the data. A budget never fails a request, even one that
named only that dataset: the request is answered (without its rows) and the refusal
is its outcome, so a gateway never takes it for a node failure, and chunks of one
batch are answered alike.

The ledger is one SQLite database in WAL mode, ``<state_dir>/budgets.sqlite3``,
shared by every ``--workers`` process of the node and kept across restarts. A charge
reads and adds in one ``BEGIN IMMEDIATE`` transaction, so two workers can never both
spend the last lookup. Charges are kept in buckets of 1/64 of the window (so a charge
costs the same however busy the origin is, and leaves the window up to 1/64 of it
late, never early). Timestamps are wall-clock seconds (they must mean the same in
every process and after a restart). When the database stays locked longer than the
busy timeout, or cannot be written, the dataset is refused (``UNAVAILABLE``): a
budget fails closed.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.errors import ConfigError, MeshError, ResourceExhaustedError, UnavailableError

log = logging.getLogger(__name__)

LEDGER_FILE = "budgets.sqlite3"
#: How long a charge waits for another worker's transaction before failing closed.
BUSY_TIMEOUT_S = 0.25
_SETUP_TIMEOUT_S = 10.0
#: Stale windows of every origin are swept once per this many charges.
_SWEEP_EVERY = 4096

#: Buckets per window: a charge is kept in the bucket of its time, so an origin's
#: window is at most this many rows, and a charge leaves the window up to
#: ``per_seconds / RESOLUTION`` late (never early: a budget is never exceeded).
RESOLUTION = 64

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spent ("
    " dataset TEXT NOT NULL, origin TEXT NOT NULL, at REAL NOT NULL, lookups INTEGER NOT NULL,"
    " PRIMARY KEY (dataset, origin, at)) WITHOUT ROWID",
)


@dataclass(frozen=True)
class QueryBudget:
    """At most ``lookups`` rows per ``per_seconds`` per origin."""

    lookups: int
    per_seconds: float


@dataclass(frozen=True)
class Ask:
    """Rows one dataset would return (``rows`` may be 0: is the budget spent at all?)."""

    dataset_id: str
    budget: QueryBudget
    rows: int


@dataclass
class Grant:
    """What the ledger allowed for one :class:`Ask`."""

    dataset_id: str
    granted: int
    #: Why fewer rows than asked may leave (``None``: all of them may).
    refusal: MeshError | None = None
    #: The start of the bucket holding the charge (for :meth:`BudgetLedger.refund`).
    entry: float | None = None
    #: Seconds until the oldest charge in the window expires (room again from then).
    retry_s: float = 0.0


def spent_error(dataset_id: str, budget: QueryBudget, served: int, retry_s: float) -> MeshError:
    """The refusal of a dataset whose budget is spent (``served`` rows did leave)."""
    served_text = f"; {served} of its rows were served" if served else ""
    return ResourceExhaustedError(
        f"query budget of dataset {dataset_id!r} is spent: {budget.lookups} lookups per "
        f"{budget.per_seconds:g} s{served_text}",
        reason="QUERY_BUDGET_EXHAUSTED",
        metadata={"dataset_id": dataset_id},
        retry_after_s=max(retry_s, 0.001),
    )


class BudgetLedger:
    """Sliding-window row counts per (dataset, origin), shared through one SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, float] = {}
        self._charges = 0
        try:
            path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o640))
            # Workers starting together create the schema at once: wait longer for that.
            self._db = sqlite3.connect(
                path, timeout=_SETUP_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives a crash of the process, not of the OS.
            self._db.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._db.execute(statement)
            self._db.execute(f"PRAGMA busy_timeout = {max(1, round(busy_timeout_s * 1000))}")
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(
                f"node.state_dir: cannot open the query budget ledger {path}: {error}",
                metadata={"key": "node.state_dir"},
            ) from None

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> BudgetLedger:
        """The node's ledger, ``<state_dir>/budgets.sqlite3``."""
        return cls(state_dir / LEDGER_FILE)

    def take(self, origin: str, asks: Sequence[Ask]) -> list[Grant]:
        """Charge every ask at once: each gets what is left of its budget, at most ``rows``."""
        try:
            with self._lock:
                return self._take(origin, asks)
        except sqlite3.Error as error:
            log.error("query budget ledger %s failed: %s", self.path, error)
            return [Grant(a.dataset_id, 0, _ledger_unavailable(a.dataset_id)) for a in asks]

    def refund(self, origin: str, grants: Sequence[Grant], unused: Sequence[int]) -> None:
        """Give back ``unused[i]`` rows of ``grants[i]`` (a region page used less)."""
        rows = [
            (n, g.dataset_id, origin, g.entry)
            for g, n in zip(grants, unused, strict=True)
            if n > 0 and g.entry is not None
        ]
        if not rows:
            return
        try:
            with self._lock:
                db = self._db
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany(
                        "UPDATE spent SET lookups = MAX(0, lookups - ?)"
                        " WHERE dataset = ? AND origin = ? AND at = ?",
                        rows,
                    )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as error:  # the charge stands: failing closed
            log.error("query budget ledger %s: refund failed: %s", self.path, error)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def _take(self, origin: str, asks: Sequence[Ask]) -> list[Grant]:
        db = self._db
        now = self.clock()
        writing = any(a.rows > 0 for a in asks)
        if writing:
            db.execute("BEGIN IMMEDIATE")  # the write lock first: check and add are atomic
        try:
            grants = [self._take_one(origin, ask, now, writing) for ask in asks]
            if writing:
                self._charges += 1
                if self._charges % _SWEEP_EVERY == 0:
                    self._sweep(now)
                db.execute("COMMIT")
        except BaseException:
            if writing:
                db.execute("ROLLBACK")
            raise
        return grants

    def _take_one(self, origin: str, ask: Ask, now: float, writing: bool) -> Grant:
        db, budget = self._db, ask.budget
        self._windows[ask.dataset_id] = budget.per_seconds
        width = budget.per_seconds / RESOLUTION
        # A bucket counts while any part of it is inside the window.
        since = now - budget.per_seconds - width
        key = (ask.dataset_id, origin)
        if writing:
            db.execute("DELETE FROM spent WHERE dataset = ? AND origin = ? AND at <= ?",
                       (*key, since))  # fmt: skip
        used, oldest = db.execute(
            "SELECT COALESCE(SUM(lookups), 0), MIN(at) FROM spent"
            " WHERE dataset = ? AND origin = ? AND at > ?",
            (*key, since),
        ).fetchone()
        left = budget.lookups - int(used)
        granted = max(0, min(ask.rows, left))
        retry = budget.per_seconds
        if oldest is not None:
            retry = oldest + width + budget.per_seconds - now
        refusal = None
        if left <= 0 or granted < ask.rows:
            refusal = spent_error(ask.dataset_id, budget, granted, retry)
        entry = None
        if granted:
            entry = math.floor(now / width) * width
            db.execute(
                "INSERT INTO spent (dataset, origin, at, lookups) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (dataset, origin, at) DO UPDATE SET lookups = lookups + ?",
                (*key, entry, granted, granted),
            )
        return Grant(ask.dataset_id, granted, refusal, entry, retry)

    def _sweep(self, now: float) -> None:
        """Drop every origin's expired rows (origins that never come back included)."""
        self._db.executemany(
            "DELETE FROM spent WHERE dataset = ? AND at <= ?",
            [(i, now - window * (1 + 1 / RESOLUTION)) for i, window in self._windows.items()],
        )


def _ledger_unavailable(dataset_id: str) -> MeshError:
    return UnavailableError(
        f"dataset {dataset_id!r} has a query budget and its ledger is busy or unwritable; "
        "try again",
        reason="QUERY_BUDGET_LEDGER_UNAVAILABLE",
        metadata={"dataset_id": dataset_id},
    )
