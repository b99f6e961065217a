"""Smoke test of the bench: ``python -m bench --quick`` runs and reports every figure.

Asserts nothing about speed (CI machines vary); only that the outputs exist, parse and
hold every figure, each with rows that are measured or say why not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.figures import FIGURES

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(540)
def test_quick_run_writes_every_figure(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=520,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads((tmp_path / "bench" / "results.json").read_text(encoding="utf-8"))
    assert results["meta"]["quick"] is True
    assert results["meta"]["machine"]["cores"] >= 1
    assert set(results["figures"]) == set(FIGURES)
    for key, figure in results["figures"].items():
        assert figure["rows"], key
        for row in figure["rows"]:
            measured = row["value"] is not None
            assert measured or row["note"].startswith("not measured"), (key, row)

    markdown = (tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    for module in FIGURES.values():
        assert module.TITLE in markdown
    assert "## Where the time goes" in markdown
