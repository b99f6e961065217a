"""The continuous ``mesh check`` of a gateway, and its ``/metrics``.

Every ``interval_s`` the gateway runs :func:`~mesh.check.run_mesh_check` against its
peers (from its own identity, comparing canaries with its own answers) and keeps the
last report for ``/metrics`` and the pages::

    mesh_check_status{peer="no-oslo",address="10.0.0.7:50051",check="tier"} 1  # 0.5 warn, 0 fail
    mesh_check_certificate_expiry_seconds{peer="no-oslo",address="10.0.0.7:50051"} 2.5e6

``skip`` is not exported (nothing was found either way).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from mesh.check._model import METRIC_VALUE, MeshReport, Status
from mesh.check._runner import CheckSettings, run_mesh_check
from mesh.config import PeerConfig

log = logging.getLogger(__name__)


class MeshCheckMonitor(Collector):
    """Runs the checks in the background; the last report feeds ``/metrics``."""

    def __init__(
        self, peers: Sequence[PeerConfig], settings: CheckSettings, interval_s: float
    ) -> None:
        self.peers, self.settings, self.interval_s = tuple(peers), settings, interval_s
        self.last: MeshReport | None = None
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    def start(self) -> None:
        """Start the loop (the first run after one interval)."""
        if self._task is None and self.interval_s > 0:
            self._task = asyncio.create_task(self._loop(), name="mesh-check")

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> MeshReport:
        """One run; logs each check that starts failing (once, not every run)."""
        report = await run_mesh_check(self.peers, self.settings)
        before = self.last
        self.last, self.runs = report, self.runs + 1
        was_failing = {
            (p.id, p.address, c.name)
            for p in (before.peers if before is not None else ())
            for c in p.checks
            if c.status is Status.FAIL
        }
        for peer in report.peers:
            for check in peer.checks:
                if (
                    check.status is Status.FAIL
                    and (peer.id, peer.address, check.name) not in was_failing
                ):
                    log.warning(
                        "mesh check: peer %s (%s) %s failed",
                        peer.id,
                        peer.address,
                        check.name,
                        # No detail: a canary's names variant coordinates (privacy).
                        extra={"fields": {"peer": peer.id, "check": check.name}},
                    )
        return report

    async def _loop(self) -> None:
        # The first run waits one interval too: a gateway that restarts often (or a test)
        # does not send canary lookups, which count against budgets and audit logs, at once.
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.run_once()
            except Exception:  # a bug in one run must not stop the next ones
                log.exception("mesh check run failed")

    def collect(self) -> Iterable[PromMetric]:
        status = GaugeMetricFamily(
            "mesh_check_status",
            "Last continuous mesh check per peer address and check: 1 ok, 0.5 warn, 0 fail",
            labels=["peer", "address", "check"],
        )
        expiry = GaugeMetricFamily(
            "mesh_check_certificate_expiry_seconds",
            "Seconds until the peer's certificate expires (negative: expired), last mesh check",
            labels=["peer", "address"],
        )
        report = self.last
        for peer in report.peers if report is not None else ():
            for check in peer.checks:
                if check.status in METRIC_VALUE:
                    status.add_metric(
                        [peer.id, peer.address, check.name], METRIC_VALUE[check.status]
                    )
            if peer.certificate_expiry_s is not None:
                expiry.add_metric([peer.id, peer.address], peer.certificate_expiry_s)
        return [status, expiry]
