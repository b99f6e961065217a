"""Coverage-guided fuzzing (atheris) of every parser, bounded in time, in CI.

Each target of :mod:`tests.fuzz.atheris_targets` runs in its own process for
``FUZZ_SECONDS`` (two at a time on 2 cores); a crash makes libFuzzer exit non-zero and
leaves the input under ``test-artifacts/fuzz/``. The figures (inputs executed, edges
covered) go to the reliability report.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from mesh.config import load_node_config
from mesh.errors import ConfigError
from tests.faults.figures import ARTIFACTS, Figures, bound
from tests.mesh_harness import REPO

pytest.importorskip("atheris")

FUZZ_SECONDS = bound(3, 300)
#: The targets of tests/fuzz/atheris_targets.py (not imported here: it instruments).
TARGETS = ("notation", "page_token", "config", "request", "http")


def run_target(name: str) -> tuple[str, int, int, int, str]:
    """(name, exit code, inputs executed, coverage, last output) of one bounded run."""
    artifacts = ARTIFACTS / "fuzz" / name
    artifacts.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.atheris_targets",
            name,
            f"-max_total_time={FUZZ_SECONDS}",
            "-print_final_stats=1",
            "-rss_limit_mb=1024",
            f"-artifact_prefix={artifacts}/",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 120,
        check=False,
    )
    output = result.stdout + result.stderr
    units = re.search(r"stat::number_of_executed_units: (\d+)", output)
    cov = re.findall(r"cov: (\d+)", output)
    return (
        name,
        result.returncode,
        int(units[1]) if units else 0,
        int(cov[-1]) if cov else 0,
        output[-3000:],
    )


@pytest.mark.slow
def test_atheris_finds_no_crash_in_any_parser(figures: Figures):
    """atheris on notations, page tokens, configs, node requests and the HTTP API."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run_target, TARGETS))
    figures.inputs_fuzzed = sum(r[2] for r in results)
    figures.crashes = sum(1 for r in results if r[1] != 0)
    figures.note(
        seconds_per_target=FUZZ_SECONDS,
        per_target={
            name: {"inputs": units, "coverage": cov, "exit": code}
            for name, code, units, cov, _ in results
        },
    )
    for name, code, units, _, output in results:
        assert code == 0, f"atheris target {name} crashed:\n{output}"
        assert units > 100, f"atheris target {name} hardly ran:\n{output}"


def test_config_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "node.toml"
    path.write_bytes(b"\xf5")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_node_config(path)
