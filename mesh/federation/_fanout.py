"""The fan-out: ask many sources concurrently, each within its own deadline.

Each source gets ``min(its timeout, caller's remaining time - margin)``, the margin
being 10 % of the remaining time (at least 50 ms, at most 1 s), so the merged answer
leaves before the caller gives up. A source that fails, refuses or is too slow
becomes an :class:`Answer` with its status; it never raises out of :meth:`FanOut.ask`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2

from mesh.errors import UnavailableError, ok_status, status_from_code
from mesh.federation._sources import METHOD_PATHS, LocalSource, Source, SourceCallError
from mesh.tracing import Telemetry, peer_span
from mesh.v1 import allele_pb2

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)

MARGIN_FRACTION = 0.1
MARGIN_MIN_S = 0.05
MARGIN_MAX_S = 1.0
#: Extra time the asyncio guard gives a call beyond its gRPC deadline.
_GUARD_S = 0.05


def budget_s(remaining: float | None) -> float:
    """Time the sources may use out of the caller's ``remaining`` seconds (None: unbounded)."""
    if remaining is None:
        return math.inf
    margin = min(MARGIN_MAX_S, max(MARGIN_MIN_S, MARGIN_FRACTION * remaining))
    return max(0.0, remaining - margin)


@dataclass
class Answer(Generic[M]):
    """What one call to one source gave."""

    source: Source
    response: M | None
    status: status_pb2.Status
    latency_ms: float

    @property
    def ok(self) -> bool:
        """True when the source answered."""
        return self.response is not None


@dataclass(frozen=True)
class Call:
    """One request to one source.

    ``request`` may be given already serialized: a request sent to many sources is
    then encoded once, not once per source.
    """

    source: Source
    method: str
    request: Message | bytes


class FanOut:
    """Runs calls concurrently and turns every failure into an outcome status.

    With telemetry, each call to a peer is one CLIENT span (never one per variant, nor
    per hedged attempt) carrying the peer's id, country, status and result count.
    """

    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self.telemetry = telemetry

    async def ask(
        self, calls: Sequence[Call], response_type: type[M], *, timeout: float | None
    ) -> list[Answer[M]]:
        """Answers in the order of ``calls``; ``timeout`` is the caller's remaining time."""
        loop = asyncio.get_running_loop()
        budget = budget_s(timeout)
        now = loop.time()
        tasks = [self._one(c, response_type, now + min(c.source.timeout_s, budget)) for c in calls]
        return list(await asyncio.gather(*tasks))

    async def _one(self, call: Call, response_type: type[M], deadline: float) -> Answer[M]:
        if self.telemetry is None or isinstance(call.source, LocalSource):
            return await self._answer(call, response_type, deadline)
        source = call.source
        with peer_span(
            self.telemetry, peer_id=source.id, country=source.country,
            method=METHOD_PATHS[call.method],
        ) as traced:  # fmt: skip
            result = await self._answer(call, response_type, deadline)
            if result.ok and result.response is not None:
                traced.set_response(result.response)
            else:
                traced.set_status(result.status.code, result.status.message)
            return result

    async def _answer(self, call: Call, response_type: type[M], deadline: float) -> Answer[M]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        source = call.source

        def answer(response: M | None, status: status_pb2.Status) -> Answer[M]:
            return Answer(source, response, status, (time.perf_counter() - started) * 1000.0)

        if deadline <= loop.time():
            status = status_from_code(grpc.StatusCode.DEADLINE_EXCEEDED, "no time left to ask")
            return answer(None, status)
        guard = None if math.isinf(deadline) else deadline + _GUARD_S
        request = call.request
        payload = request if isinstance(request, bytes) else request.SerializeToString()
        try:
            async with asyncio.timeout_at(guard):
                data = await source.call(call.method, payload, deadline=deadline)
        except SourceCallError as error:
            return answer(None, error.status)
        except TimeoutError:
            status = status_from_code(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
            return answer(None, status)
        except Exception:
            log.exception("call to %s failed unexpectedly", source.id)
            status = status_from_code(grpc.StatusCode.INTERNAL, "gateway error calling this node")
            return answer(None, status)
        try:
            response = response_type.FromString(data)
        except DecodeError:
            status = status_from_code(grpc.StatusCode.INTERNAL, "node sent a malformed response")
            return answer(None, status)
        return answer(response, ok_status())


def outcome_of(
    source: Source, answers: Sequence[Answer[M]], frequency_count: int
) -> allele_pb2.NodeOutcome:
    """One ``NodeOutcome`` for one source from its (possibly several, chunked) answers.

    The node's own dataset outcomes (a dataset withheld from the caller, a spent query
    budget) are carried over, once per dataset over the chunks.
    """
    failed = [a for a in answers if not a.ok]
    status = ok_status()
    if failed:
        status.CopyFrom(failed[0].status)
        if len(answers) > 1:
            status.message = f"{len(failed)} of {len(answers)} calls failed: {status.message}"
    return allele_pb2.NodeOutcome(
        node_id=source.id,
        country=source.country,
        status=status,
        latency_ms=max((a.latency_ms for a in answers), default=0.0),
        frequency_count=frequency_count,
        datasets=_dataset_outcomes(answers),
    )


def _dataset_outcomes(answers: Sequence[Answer[M]]) -> list[allele_pb2.DatasetOutcome]:
    """The ``datasets`` of the outcomes a node reported about itself in its answers."""
    found: dict[str, allele_pb2.DatasetOutcome] = {}
    for answer in answers:
        for outcome in getattr(answer.response, "outcomes", ()):
            for dataset in outcome.datasets:
                known = found.get(dataset.dataset_id)
                # A refusal in any chunk stands over a chunk that had nothing to report.
                if known is None or (known.status.code == 0 and dataset.status.code != 0):
                    found[dataset.dataset_id] = dataset
    return list(found.values())


def is_ok(outcome: allele_pb2.NodeOutcome) -> bool:
    """True when the outcome's status is OK."""
    return bool(outcome.status.code == 0)


def raise_if_all_failed(outcomes: Sequence[allele_pb2.NodeOutcome]) -> None:
    """Raise ``UNAVAILABLE`` with every outcome in the details when none is OK."""
    if not outcomes or any(is_ok(o) for o in outcomes):
        return
    details = []
    for outcome in outcomes:
        packed = any_pb2.Any()
        packed.Pack(outcome)
        details.append(packed)
    summary = "; ".join(f"{o.node_id}: {o.status.message or o.status.code}" for o in outcomes)
    raise UnavailableError(
        f"no node could answer ({summary})", reason="ALL_NODES_FAILED", details=details
    )
