"""The query budget ledger on its own: one SQLite file, sliding windows, atomic charges.

Several ledgers on one file stand for a node's ``--workers`` processes (real
processes in the concurrency test); a ledger opened again stands for a restart.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from mesh.errors import ResourceExhaustedError
from nodes.serve.budgets import Ask, BudgetLedger, QueryBudget

BUDGET = QueryBudget(lookups=10, per_seconds=60)
#: Charges leave the window up to one bucket late (never early).
BUCKET = 60 / 64
ALICE = "spiffe://allelemesh.example/country/DE/operator/alice"
BOB = "spiffe://allelemesh.example/country/DE/operator/bob"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def granted(ledger: BudgetLedger, origin: str, rows: int, dataset: str = "ds") -> int:
    [grant] = ledger.take(origin, [Ask(dataset, BUDGET, rows)])
    return grant.granted


def test_sliding_window_per_origin_and_dataset(tmp_path: Path) -> None:
    clock = Clock()
    ledger = BudgetLedger(tmp_path / "b.sqlite3", clock=clock)
    assert granted(ledger, ALICE, 6) == 6
    assert granted(ledger, ALICE, 4) == 4
    [spent] = ledger.take(ALICE, [Ask("ds", BUDGET, 1)])
    assert spent.granted == 0
    assert isinstance(spent.refusal, ResourceExhaustedError)
    assert spent.refusal.reason == "QUERY_BUDGET_EXHAUSTED"
    assert 60 <= spent.refusal.retry_after_s <= 60 + BUCKET
    assert granted(ledger, BOB, 10) == 10  # another origin has its own budget
    assert granted(ledger, ALICE, 10, dataset="other") == 10  # and so has another dataset
    clock.now += 30
    [later] = ledger.take(ALICE, [Ask("ds", BUDGET, 1)])
    assert later.granted == 0
    assert later.refusal is not None
    assert 30 <= later.refusal.retry_after_s <= 30 + BUCKET
    clock.now += 30.001
    assert granted(ledger, ALICE, 1) == 0  # not yet: the bucket is partly in the window
    clock.now += BUCKET  # the first charges leave the window
    assert granted(ledger, ALICE, 10) == 10


def test_a_spent_budget_is_refused_even_for_nothing_and_partial_grants_say_so(
    tmp_path: Path,
) -> None:
    ledger = BudgetLedger(tmp_path / "b.sqlite3", clock=Clock())
    [free] = ledger.take(ALICE, [Ask("ds", BUDGET, 0)])
    assert (free.granted, free.refusal) == (0, None)  # nothing held, nothing spent
    [partial] = ledger.take(ALICE, [Ask("ds", BUDGET, 25)])
    assert partial.granted == 10
    assert partial.refusal is not None
    assert "10 of its rows were served" in str(partial.refusal)
    [nothing] = ledger.take(ALICE, [Ask("ds", BUDGET, 0)])
    assert nothing.refusal is not None  # spent: refused whether or not anything is held


def test_refund_gives_back_what_a_page_did_not_use(tmp_path: Path) -> None:
    ledger = BudgetLedger(tmp_path / "b.sqlite3", clock=Clock())
    [held] = ledger.take(ALICE, [Ask("ds", BUDGET, 100)])
    assert held.granted == 10
    ledger.refund(ALICE, [held], [7])  # the page used 3 rows
    assert granted(ledger, ALICE, 100) == 7
    [again] = ledger.take(ALICE, [Ask("ds", BUDGET, 1)])
    assert again.granted == 0


def test_shared_by_ledgers_on_one_file_and_kept_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "budgets.sqlite3"
    clock = Clock()
    first, second = BudgetLedger(path, clock=clock), BudgetLedger(path, clock=clock)
    assert granted(first, ALICE, 6) == 6
    assert granted(second, ALICE, 6) == 4
    first.close()
    second.close()
    reopened = BudgetLedger(path, clock=clock)
    assert granted(reopened, ALICE, 1) == 0
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.parent.stat().st_mode & 0o777 == 0o750


def _spend(path: str, rounds: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    ledger = BudgetLedger(Path(path), busy_timeout_s=5.0)
    total = 0
    for _ in range(rounds):
        [grant] = ledger.take(ALICE, [Ask("ds", QueryBudget(100, 3600), 1)])
        total += grant.granted
    results.put(total)


def test_concurrent_processes_never_spend_more_than_the_budget(tmp_path: Path) -> None:
    """Four processes race for 100 lookups with 60 attempts each: exactly 100 are granted."""
    path = str(tmp_path / "budgets.sqlite3")
    BudgetLedger(Path(path)).close()  # create the schema once
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_spend, args=(path, 60, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    totals = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert sum(totals) == 100


def test_an_unopenable_state_dir_is_a_config_error(tmp_path: Path) -> None:
    from mesh.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"node\.state_dir"):
        BudgetLedger(blocker / "budgets.sqlite3")


def test_a_busy_origin_keeps_a_bounded_window(tmp_path: Path) -> None:
    """Thousands of charges in one window are at most one row per bucket."""
    import sqlite3

    clock = Clock()
    ledger = BudgetLedger(tmp_path / "b.sqlite3", clock=clock)
    budget = QueryBudget(lookups=100_000, per_seconds=64)
    total = 0
    for _ in range(5000):
        clock.now += 0.01
        [grant] = ledger.take(ALICE, [Ask("ds", budget, 1)])
        total += grant.granted
    assert total == 5000
    with sqlite3.connect(tmp_path / "b.sqlite3") as db:
        (rows,) = db.execute("SELECT COUNT(*) FROM spent").fetchone()
        (summed,) = db.execute("SELECT SUM(lookups) FROM spent").fetchone()
    assert rows <= 51  # 50 s of charges, one-second buckets
    assert summed == 5000
