"""Resident memory of processes, from /proc, sampled in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0


class RssSampler:
    """Samples the RSS of ``pids`` every ``interval_s`` in a thread, until stopped.

    ``samples[pid]`` is a list of (seconds since start, KiB). Bounded: at most
    ``max_samples`` per process (the oldest are kept; a soak passes a larger bound).
    """

    def __init__(
        self, pids: Sequence[int], interval_s: float = 0.25, max_samples: int = 100_000
    ) -> None:
        self.pids = list(pids)
        self.interval_s = interval_s
        self.max_samples = max_samples
        self.samples: dict[int, list[tuple[float, int]]] = {p: [] for p in self.pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._started = 0.0

    def __enter__(self) -> RssSampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic() - self._started
            for pid in self.pids:
                series = self.samples[pid]
                if len(series) < self.max_samples:
                    series.append((now, rss_kib(pid)))
            self._stop.wait(self.interval_s)

    def growth(self, pid: int, warmup_fraction: float = 0.3) -> tuple[int, int]:
        """(peak KiB just after warm-up, peak KiB over the last fifth of the run)."""
        series = [kib for _, kib in self.samples[pid] if kib > 0]
        if len(series) < 5:
            return (0, 0)
        start = int(len(series) * warmup_fraction)
        early = series[start : start + max(1, len(series) // 5)]
        late = series[-max(1, len(series) // 5) :]
        return max(early), max(late)
