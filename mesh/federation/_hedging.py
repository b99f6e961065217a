"""Hedged calls across a peer's replicas.

A peer may list several ``addresses`` (replicas serving the same datasets). A call
goes to the replica that has been fastest lately; if it has not answered within the
peer's recent p95 latency (never less than ``floor_s``), a second request goes to
the next replica, the first answer wins and the other call is cancelled. A replica
that fails with ``UNAVAILABLE`` is failed over at once (lookups are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import grpc

from mesh.federation._sources import SourceCallError

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class HedgeSettings:
    """When to send the second request."""

    #: Never hedge sooner than this, so a fast mesh is not doubled by noise.
    floor_s: float = 0.05
    #: Answers remembered per peer for the p95.
    window: int = 100
    #: Answers needed before the p95 is trusted (until then the floor is used).
    min_samples: int = 5


class LatencyWindow:
    """The last ``size`` answer latencies of one peer, for its p95."""

    def __init__(self, size: int) -> None:
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        """Remember one answer's latency."""
        self._samples.append(seconds)

    def __len__(self) -> int:
        return len(self._samples)

    def p95(self) -> float:
        """The 95th percentile (nearest rank), 0 when empty."""
        if not self._samples:
            return 0.0
        ordered = sorted(self._samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class ReplicaStats:
    """A smoothed latency per replica, to pick the first one to ask."""

    def __init__(self, count: int, alpha: float = 0.3) -> None:
        self._ewma = [0.0] * count
        self._alpha = alpha

    def observe(self, index: int, seconds: float) -> None:
        """Fold in one latency (or, for a cancelled or failed call, a lower bound)."""
        old = self._ewma[index]
        self._ewma[index] = seconds if old == 0.0 else old + self._alpha * (seconds - old)

    def order(self) -> list[int]:
        """Replica indexes, fastest first; untried replicas (0) first, config order on ties."""
        return sorted(range(len(self._ewma)), key=lambda i: (self._ewma[i], i))


def _retryable(error: BaseException) -> bool:
    return isinstance(error, SourceCallError) and error.code == grpc.StatusCode.UNAVAILABLE


async def hedged(
    replicas: Sequence[R],
    attempt: Callable[[R], Awaitable[T]],
    *,
    hedge_after_s: float | None,
    on_hedge: Callable[[], None] | None = None,
) -> T:
    """Return the first successful ``attempt``; hedge once after ``hedge_after_s``.

    ``replicas`` is in preference order. Failed-over and hedged attempts take the
    next replica; every attempt still running when one wins is cancelled.
    """
    waiting = iter(replicas)
    running: set[asyncio.Task[T]] = set()
    hedged_once = False
    last_error: BaseException | None = None

    def launch() -> bool:
        replica = next(waiting, None)
        if replica is None:
            return False
        running.add(asyncio.ensure_future(attempt(replica)))
        return True

    launch()
    try:
        while running:
            can_hedge = hedge_after_s is not None and not hedged_once and len(replicas) > 1
            done, _ = await asyncio.wait(
                running,
                timeout=hedge_after_s if can_hedge else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not done:
                hedged_once = True
                if launch() and on_hedge is not None:
                    on_hedge()
                continue
            for task in done:
                running.discard(task)
                error = task.exception()
                if error is None:
                    return task.result()
                last_error = error
                if _retryable(error):
                    launch()
        assert last_error is not None
        raise last_error
    finally:
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
