"""Suite-wide hooks: at the very end, how many tests skipped for a missing ``../shared`` file."""

from __future__ import annotations

import pytest

from tests.shared_files import SKIP_PREFIX, shared_root


def _skip_message(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def shared_skips_line(reports: list[pytest.TestReport]) -> str | None:
    """``N tests skipped: missing from ROOT: a, b``, or None when no test skipped for that."""
    messages = [_skip_message(r) for r in reports if SKIP_PREFIX in _skip_message(r)]
    if not messages:
        return None
    what = sorted({m.split(SKIP_PREFIX, 1)[1].split(" not found", 1)[0].strip() for m in messages})
    return (
        f"{len(messages)} tests skipped: missing from {shared_root()}: {', '.join(what)} "
        "(see the skip reasons above; under CI=true they fail)"
    )


# Unconfigure, not terminal_summary: this runs after pytest's own last line, so the count
# is the final thing `make test` prints.
def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    line = shared_skips_line(reporter.stats.get("skipped", []))
    if line:
        reporter.write_line(line, yellow=True, bold=True)
