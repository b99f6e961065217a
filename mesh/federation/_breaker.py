"""Per-peer circuit breaker, closed again by gRPC health probing.

After ``failure_threshold`` consecutive failures the breaker opens: the peer is not
called (its outcome is ``UNAVAILABLE "circuit open"``, answered at once) so a dead
country costs nothing per request. After ``cooldown_s`` a background task sends
``grpc.health.v1.Health/Check`` every ``probe_interval_s``; the first ``SERVING``
answer closes the breaker. Only failures that say the peer cannot be reached count
(``UNAVAILABLE``, which is also what a broken connection gives, and
``DEADLINE_EXCEEDED``): never an answer the peer gave on purpose, such as a spent
query budget (``RESOURCE_EXHAUSTED``), a refusal (``PERMISSION_DENIED``) or the
caller's bad input, or one caller could lock every other out of a country.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

log = logging.getLogger(__name__)

#: Codes that mean "the peer cannot be reached" rather than "the peer said no".
PEER_FAILURE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


@dataclass(frozen=True)
class BreakerSettings:
    """How quickly a breaker opens and how it probes for recovery."""

    failure_threshold: int = 3
    cooldown_s: float = 5.0
    probe_interval_s: float = 1.0
    probe_timeout_s: float = 1.0


Probe = Callable[[float], Awaitable[bool]]


class CircuitBreaker:
    """Closed (calls pass) or open (calls skipped until a health probe succeeds)."""

    def __init__(self, name: str, settings: BreakerSettings, probe: Probe) -> None:
        self.name = name
        self.settings = settings
        self._probe = probe
        self._failures = 0
        self._open = False
        self._prober: asyncio.Task[None] | None = None
        #: How many times the breaker has opened (for metrics and tests).
        self.times_opened = 0

    @property
    def is_open(self) -> bool:
        """True while calls to the peer are skipped."""
        return self._open

    def allow(self) -> bool:
        """Whether the peer may be called now."""
        return not self._open

    def record(self, code: grpc.StatusCode) -> None:
        """Count one finished call with its status code."""
        if code == grpc.StatusCode.OK or code not in PEER_FAILURE_CODES:
            self._failures = 0
            return
        self._failures += 1
        if not self._open and self._failures >= self.settings.failure_threshold:
            self._trip()

    def _trip(self) -> None:
        self._open = True
        self.times_opened += 1
        log.warning(
            "peer %s: circuit open after %d consecutive failures", self.name, self._failures
        )
        self._prober = asyncio.get_running_loop().create_task(self._probe_until_healthy())

    def close(self) -> None:
        """Let calls through again."""
        self._open = False
        self._failures = 0

    async def _probe_until_healthy(self) -> None:
        settings = self.settings
        await asyncio.sleep(settings.cooldown_s)
        while True:
            healthy = False
            try:
                healthy = await self._probe(settings.probe_timeout_s)
            except Exception:  # a probe that breaks must not kill the prober
                log.exception("peer %s: health probe failed unexpectedly", self.name)
            if healthy:
                log.info("peer %s: healthy again, circuit closed", self.name)
                self.close()
                return
            await asyncio.sleep(settings.probe_interval_s)

    async def aclose(self) -> None:
        """Stop probing."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
