"""What ``mesh check`` finds: one status per check per peer address, and the JSON of it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

#: Every check, in the order the table shows them.
CHECKS = (
    "reachable",
    "tls",
    "identity",
    "certificate",
    "tier",
    "health",
    "contract",
    "catalogue",
    "canary",
    "latency",
)
#: Checks that need certificates: all ``skip`` on a plaintext (``--insecure``) mesh.
TLS_CHECKS = ("tls", "identity", "certificate", "tier")


class Status(enum.StrEnum):
    """The outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


#: ``mesh_check_status`` values (``deploy/prometheus/alerts.yaml`` alerts on ``== 0``).
METRIC_VALUE = {Status.OK: 1.0, Status.WARN: 0.5, Status.FAIL: 0.0}


@dataclass(frozen=True)
class CheckResult:
    """One check of one peer address: its status and what was found / what to do."""

    name: str
    status: Status
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "detail": self.detail}


@dataclass
class PeerReport:
    """Every check of one address of one ``[[peers]]`` entry."""

    id: str
    country: str
    address: str
    checks: list[CheckResult] = field(default_factory=list)
    #: Seconds until the peer's certificate expires (negative: expired); None: not seen.
    certificate_expiry_s: float | None = None
    #: Dataset ids the peer lists (for the mesh-wide uniqueness rule).
    dataset_ids: tuple[str, ...] = ()

    def add(self, name: str, status: Status, detail: str) -> None:
        self.checks.append(CheckResult(name, status, detail))

    def result(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)

    def status(self, name: str) -> Status | None:
        found = self.result(name)
        return None if found is None else found.status

    def replace(self, name: str, status: Status, detail: str) -> None:
        self.checks = [
            CheckResult(name, status, detail) if c.name == name else c for c in self.checks
        ]

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": self.country,
            "address": self.address,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class MeshReport:
    """The whole run: our tier and every peer address."""

    tier: str
    peers: list[PeerReport]
    #: Unix time the run finished.
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        """No check failed (warnings allowed)."""
        return not any(p.failed for p in self.peers)

    def counts(self) -> dict[Status, int]:
        totals = dict.fromkeys(Status, 0)
        for peer in self.peers:
            for check in peer.checks:
                totals[check.status] += 1
        return totals

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "tier": self.tier, "peers": [p.to_json() for p in self.peers]}
