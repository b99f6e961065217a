"""Run a command with a pseudo-terminal as its stdout and stderr, as a user's shell would."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def run_on_a_terminal(command: Sequence[str], cwd: Path | None = None) -> str:
    """Run ``command`` on a 120-column pseudo-terminal; return what it drew (exit 0 asserted)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        list(command), cwd=cwd, stdin=secondary, stdout=secondary, stderr=secondary,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )  # fmt: skip
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(primary)
    assert process.wait(timeout=30) == 0
    return output.decode("utf-8", "replace")
