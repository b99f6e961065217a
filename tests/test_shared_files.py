"""tests/shared_files.py: a missing ../shared file skips with one line (fails under CI=true),
and the run ends with the count of such skips. Runs a real inner pytest in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

INNER = """
from tests.shared_files import shared_path

def test_needs_schemas():
    assert shared_path("beacon-v2", "framework", "json").is_dir()

def test_needs_shapes():
    shared_path("gdi-metadata", "shapes")

def test_plain():
    assert True
"""


def run_inner(tmp_path: Path, shared: Path, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"ALLELEMESH_SHARED": str(shared), "PYTHONPATH": str(REPO)}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            str(tmp_path / "test_inner.py"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_absent_shared_files_skip_and_are_counted_last(tmp_path: Path) -> None:
    empty = tmp_path / "no-shared"
    result = run_inner(tmp_path, empty, ci=None)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "1 passed, 2 skipped" in lines[-2]
    assert lines[-1] == (
        f"2 tests skipped: missing from {empty}: beacon-v2/framework/json, gdi-metadata/shapes "
        "(see the skip reasons above; under CI=true they fail)"
    )
    reasons = [line for line in lines if line.startswith("SKIPPED")]
    assert len(reasons) == 2
    schemas = next(line for line in reasons if "beacon-v2" in line)
    assert f"beacon-v2/framework/json not found at {empty}/beacon-v2/framework/json" in schemas
    assert "github.com/ga4gh-beacon/beacon-v2" in schemas
    assert f"in {empty}/beacon-v2" in schemas


def test_absent_shared_files_fail_under_ci(tmp_path: Path) -> None:
    result = run_inner(tmp_path, tmp_path / "no-shared", ci="true")
    assert result.returncode == 1
    assert "2 failed, 1 passed" in result.stdout
    assert "CI=true: CI must have it" in result.stdout
    assert "tests skipped: missing" not in result.stdout


def test_present_shared_files_run(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "beacon-v2" / "framework" / "json").mkdir(parents=True)
    (shared / "gdi-metadata" / "shapes").mkdir(parents=True)
    result = run_inner(tmp_path, shared, ci="true")
    assert result.returncode == 0, result.stdout
    assert "3 passed" in result.stdout
    assert "tests skipped" not in result.stdout
