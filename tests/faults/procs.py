"""Node processes that tests kill, stall and restart: started in parallel, always reaped.

:class:`NodeFleet` runs ``python -m mesh node serve --index ... --insecure`` for each
spec on a fixed loopback port (so a restarted node comes back at the same address),
waits for all of them to be healthy at once (start-up is mostly imports: parallel
start keeps a 9-node mesh's start near one node's), and on exit SIGCONTs and kills
every process it ever started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.mesh_harness import REPO, free_port, wait_for_health


@dataclass
class FleetNode:
    """One node of the fleet: what to run and the process running it now."""

    node_id: str
    country: str
    indexes: Sequence[Path]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    stopped: bool = False
    extra_args: Sequence[str] = ()

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The running process's pid."""
        assert self.process is not None
        return self.process.pid

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "mesh",
            "--log-level",
            "WARNING",
            "node",
            "serve",
            "--listen",
            self.address,
            "--node-id",
            self.node_id,
            "--country",
            self.country,
            "--insecure",
            *self.extra_args,
        ]
        for index in self.indexes:
            command += ["--index", str(index)]
        return command

    def spawn(self) -> None:
        """Start the process (not waiting for it to be healthy)."""
        if self.log is None:
            self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by NodeFleet
        self.process = subprocess.Popen(
            self.command(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=self.log
        )
        self.stopped = False

    def kill(self) -> None:
        """SIGKILL and reap (a crash: no goodbye to anyone)."""
        if self.process is None:
            return
        if self.stopped:
            self.cont()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGSTOP: the process holds its sockets open and answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stopped = True

    def cont(self) -> None:
        """SIGCONT after :meth:`stop`."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
        self.stopped = False

    def stderr_tail(self, limit: int = 2000) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-limit:]


class NodeFleet:
    """Start, stall, kill and restart node processes; everything is reaped on exit."""

    def __init__(self, nodes: Sequence[FleetNode], startup_timeout_s: float = 60.0) -> None:
        self.nodes = {n.node_id: n for n in nodes}
        self.startup_timeout_s = startup_timeout_s

    def __enter__(self) -> NodeFleet:
        try:
            for node in self.nodes.values():
                node.spawn()
            self.wait_healthy(list(self.nodes.values()))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_healthy(self, nodes: Sequence[FleetNode]) -> None:
        """Block until every node answers health SERVING (bounded)."""
        with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
            futures = {
                n.node_id: pool.submit(wait_for_health, n.address, self.startup_timeout_s)
                for n in nodes
            }
            for node_id, future in futures.items():
                try:
                    future.result()
                except TimeoutError:
                    tail = self.nodes[node_id].stderr_tail()
                    raise TimeoutError(f"node {node_id} did not start:\n{tail}") from None

    def restart(self, node: FleetNode, *, wait: bool = True) -> None:
        """Kill (if running) and start again on the same port."""
        node.kill()
        node.spawn()
        if wait:
            self.wait_healthy([node])

    def close(self) -> None:
        """SIGCONT and kill every process, close every log."""
        for node in self.nodes.values():
            with contextlib.suppress(Exception):
                node.kill()
            if node.log is not None:
                node.log.close()
                node.log = None


def wait_until(predicate: object, timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` passed; return its last value."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
