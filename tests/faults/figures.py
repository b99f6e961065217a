"""Figures of the reliability tests, collected into ``test-artifacts/reliability.json``.

Each test takes the ``figures`` fixture (see ``conftest.py`` of ``tests/faults``,
``tests/fuzz`` and ``tests/load``), counts what it did into it, and the fixture
merges the record into the JSON file when the test ends (pass or fail), under the
test's node id. :mod:`tests.faults.report` renders ``RELIABILITY.md`` from that file.

Bounds: every loop of these tests is bounded in count and time by :func:`bound`,
which returns the CI value, or the soak value when ``ALLELEMESH_SOAK=1``
(``make soak``).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("ALLELEMESH_ARTIFACTS", REPO / "test-artifacts"))
FIGURES_FILE = ARTIFACTS / "reliability.json"
SOAK = os.environ.get("ALLELEMESH_SOAK", "") not in ("", "0")

N = TypeVar("N", int, float)


def bound(ci: N, soak: N) -> N:
    """The CI bound, or the soak bound under ``ALLELEMESH_SOAK=1``."""
    return soak if SOAK else ci


@dataclass
class Figures:
    """What one reliability test did, and what went wrong (the last must stay 0)."""

    test: str
    title: str = ""
    faults_injected: int = 0
    queries: int = 0
    within_deadline: int = 0
    wrong_answers: int = 0
    hung: int = 0
    inputs_fuzzed: int = 0
    crashes: int = 0
    #: Anything else worth reporting (latencies, QPS, RSS, method used...).
    notes: dict[str, Any] = field(default_factory=dict)
    outcome: str = "unknown"
    seconds: float = 0.0

    def note(self, **values: Any) -> None:
        """Add named figures to ``notes``."""
        self.notes.update(values)


def write(figures: Figures) -> None:
    """Merge one test's figures into :data:`FIGURES_FILE` (safe across processes)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lock = ARTIFACTS / ".reliability.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            data = json.loads(FIGURES_FILE.read_text()) if FIGURES_FILE.exists() else {}
        except ValueError:
            data = {}
        tests = data.setdefault("tests", {})
        record = asdict(figures)
        record["soak"] = SOAK
        record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        tests[figures.test] = record
        tmp = FIGURES_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, FIGURES_FILE)
