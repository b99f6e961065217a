"""The composition root (``mesh.cli``): every command group by name, nothing at import.

Command groups are imported by name inside :func:`mesh.cli.command_groups`, so mypy
checks each one and a missing one fails the program at start instead of vanishing
from ``--help``; importing ``mesh.cli`` itself loads neither the node nor the gateway
(their CLIs import helpers from ``mesh.cli``, which must not import them back).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.cli import build_parser, command_groups

ROOT = Path(__file__).resolve().parents[3]

#: The groups ``allelemesh --help`` lists, in order, as the README documents them.
GROUPS = ["index", "node", "gateway", "query", "annotate", "pki", "trace", "health", "hail", "mesh"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    command = [sys.executable, *args]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=90)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return _run("-c", code)


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return list(actions[0].choices)


def test_every_group_is_registered_in_order() -> None:
    assert _subcommands(build_parser()) == GROUPS
    assert len(command_groups()) == len(GROUPS)


def test_importing_the_root_loads_no_node_or_gateway() -> None:
    done = _python(
        "import json, sys, mesh.cli\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('nodes', 'gateway')]\n"
        "print(json.dumps(sorted(loaded)))"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_a_group_that_cannot_be_imported_stops_the_program() -> None:
    # Shadow one group's module with one that fails to import: the parser is not built
    # without it (the old registry skipped a missing group silently).
    done = _python(
        "import sys\n"
        "sys.modules['nodes.hail_cli'] = None\n"
        "from mesh.cli import main\n"
        "main(['--help'])\n"
    )
    assert done.returncode != 0
    assert "nodes.hail_cli" in done.stderr
    assert "ModuleNotFoundError" in done.stderr or "ImportError" in done.stderr


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_help_runs(group: str) -> None:
    done = _run("-m", "mesh", group, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: allelemesh {group}")
