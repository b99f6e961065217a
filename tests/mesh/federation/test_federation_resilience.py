"""Hedging, the circuit breaker and deadline budgets, on their own."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from mesh.federation import BreakerSettings, SourceCallError
from mesh.federation._breaker import CircuitBreaker
from mesh.federation._fanout import budget_s
from mesh.federation._hedging import LatencyWindow, ReplicaStats, hedged


async def test_hedge_goes_to_second_replica_and_cancels_the_slow_one():
    cancelled = []

    async def attempt(replica: str) -> str:
        try:
            await asyncio.sleep(5 if replica == "slow" else 0.01)
        except asyncio.CancelledError:
            cancelled.append(replica)
            raise
        return replica

    hedges = []
    started = time.perf_counter()
    winner = await hedged(
        ["slow", "fast"], attempt, hedge_after_s=0.05, on_hedge=lambda: hedges.append(1)
    )
    assert winner == "fast"
    assert time.perf_counter() - started < 0.5
    assert cancelled == ["slow"]
    assert hedges == [1]


async def test_no_hedge_when_first_answers_in_time():
    calls = []

    async def attempt(replica: str) -> str:
        calls.append(replica)
        await asyncio.sleep(0.01)
        return replica

    assert await hedged(["a", "b"], attempt, hedge_after_s=0.2) == "a"
    assert calls == ["a"]


async def test_unavailable_replica_fails_over_at_once_and_last_error_is_raised():
    async def attempt(replica: str) -> str:
        if replica != "good":
            raise SourceCallError.of(grpc.StatusCode.UNAVAILABLE, f"{replica} down")
        return replica

    assert await hedged(["bad", "good"], attempt, hedge_after_s=None) == "good"
    with pytest.raises(SourceCallError, match="b2 down"):
        await hedged(["b1", "b2"], attempt, hedge_after_s=None)


def test_latency_window_p95_and_replica_order():
    window = LatencyWindow(100)
    for i in range(1, 101):
        window.add(i / 1000)
    assert window.p95() == pytest.approx(0.095)
    stats = ReplicaStats(3)
    stats.observe(0, 0.5)
    stats.observe(1, 0.01)
    assert stats.order() == [2, 1, 0]  # untried first, then fastest


async def test_breaker_opens_after_k_failures_and_a_healthy_probe_closes_it():
    healthy = asyncio.Event()
    probes = []

    async def probe(timeout: float) -> bool:
        probes.append(timeout)
        return healthy.is_set()

    settings = BreakerSettings(failure_threshold=3, cooldown_s=0.05, probe_interval_s=0.02)
    breaker = CircuitBreaker("peer", settings, probe)
    try:
        breaker.record(grpc.StatusCode.UNAVAILABLE)
        breaker.record(grpc.StatusCode.INVALID_ARGUMENT)  # the caller's fault: resets
        breaker.record(grpc.StatusCode.UNAVAILABLE)
        breaker.record(grpc.StatusCode.DEADLINE_EXCEEDED)
        assert breaker.allow()
        breaker.record(grpc.StatusCode.UNAVAILABLE)
        assert not breaker.allow()
        assert breaker.times_opened == 1
        await asyncio.sleep(0.15)
        assert not breaker.allow()
        assert probes
        healthy.set()
        for _ in range(50):
            if breaker.allow():
                break
            await asyncio.sleep(0.02)
        assert breaker.allow()
    finally:
        await breaker.aclose()


@pytest.mark.parametrize(
    "code",
    [
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INTERNAL,
    ],
)
async def test_answers_the_peer_gave_on_purpose_never_open_the_breaker(code):
    async def probe(timeout: float) -> bool:
        return True

    breaker = CircuitBreaker("peer", BreakerSettings(failure_threshold=2), probe)
    for _ in range(50):
        breaker.record(code)
    assert breaker.allow()
    assert breaker.times_opened == 0
    await breaker.aclose()


@pytest.mark.parametrize(
    ("remaining", "budget"),
    [(None, float("inf")), (10.0, 9.0), (1.0, 0.9), (0.2, 0.15), (0.03, 0.0), (100.0, 99.0)],
)
def test_budget_keeps_a_margin(remaining, budget):
    assert budget_s(remaining) == pytest.approx(budget)
