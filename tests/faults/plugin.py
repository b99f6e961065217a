"""The ``figures`` fixture, shared by the conftest files of the reliability suites."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.faults.figures import Figures, write


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[_OUTCOME] = report.outcome
    return report


_OUTCOME = pytest.StashKey[str]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Counts of what the test did; written to test-artifacts/reliability.json at the end."""
    doc = (request.node.function.__doc__ or "").strip().splitlines()
    record = Figures(test=request.node.nodeid, title=doc[0] if doc else request.node.name)
    started = time.monotonic()
    yield record
    record.seconds = round(time.monotonic() - started, 2)
    record.outcome = request.node.stash.get(_OUTCOME, "failed")
    write(record)
