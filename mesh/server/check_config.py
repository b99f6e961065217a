"""``node check-config`` / ``gateway check-config``: everything a start checks, without serving.

A :class:`ConfigReport` runs each check on its own, so one run lists every problem
(not only the first), and collects what the process would serve. The node and the
gateway add their own checks (indexes, peers) with :meth:`ConfigReport.check`; the
checks both share (TLS files, ports) live here, and are the same functions
``serve`` runs, so a config that passes here passes at start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from mesh.config import PeerConfig, TlsConfig
from mesh.errors import MeshError
from mesh.plumbing.ports import check_port_free
from mesh.security.certificates import check_tls_files
from mesh.security.identity import spiffe_id_of_certificate
from mesh.security.tiers import check_own_tier
from mesh.security.tls import load_material

T = TypeVar("T")

EXIT_OK = 0
EXIT_CONFIG = 2


@dataclass
class ConfigReport:
    """What a start would serve, and every problem that would stop it."""

    source: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, run: Callable[[], T]) -> T | None:
        """Run one check; a refusal is recorded (and None returned) instead of raised."""
        try:
            return run()
        except MeshError as error:
            self.problems.append(error.message)
        except OSError as error:
            self.problems.append(f"{getattr(error, 'filename', '')}: {error.strerror}")
        return None

    def add(self, line: str) -> None:
        """One line of what would be served."""
        self.lines.append(line)

    def finish(self) -> int:
        """Print the report (problems to stderr) and return the exit status."""
        for line in self.lines:
            print(line)
        for problem in self.problems:
            print(f"allelemesh: configuration error: {problem}", file=sys.stderr)
        if self.problems:
            print(f"{self.source}: {len(self.problems)} problem(s); would not start")
            return EXIT_CONFIG
        print(f"{self.source}: OK (nothing was started)")
        return EXIT_OK


def describe_tls(
    report: ConfigReport,
    tls: TlsConfig | None,
    insecure: bool,
    tier: tuple[str, str] | None = None,
) -> None:
    """Cert and key readable and matching, cert and CAs valid now: the start's TLS checks.

    ``tier``: ``(who, configured tier)``, checked against the certificate's (mesh.security.tiers).
    """
    if tls is None:
        report.add("transport: plaintext (--insecure)" if insecure else "transport: no [tls]")
        if not insecure:
            report.problems.append("no [tls] table: configure TLS, or serve with --insecure")
        return
    material = report.check(lambda: load_material(tls))
    report.check(lambda: check_tls_files(tls.cert, tls.ca))
    if tier is not None:
        who, configured = tier
        report.check(lambda: check_own_tier(configured, tls, who))  # a problem only if not
    if material is None:
        return
    leaf = material.leaf
    identity = spiffe_id_of_certificate(leaf)
    until = leaf.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
    report.add(f"transport: mTLS as {identity or 'no SPIFFE ID'} ({tls.cert}, valid until {until})")
    report.add(f"trusting: {', '.join(str(ca) for ca in tls.ca)}")


def describe_ports(report: ConfigReport, listeners: Sequence[tuple[str, str, str]]) -> None:
    """``(setting, address, what)`` for each listener: free now, or who holds it."""
    for setting, address, what in listeners:
        before = len(report.problems)
        report.check(partial(check_port_free, setting, address))
        if len(report.problems) == before:
            report.add(f"{what} on {address} ({setting}): free")


def describe_peers(report: ConfigReport, peers: Sequence[PeerConfig]) -> None:
    """The peers that would be asked (not contacted here)."""
    for peer in peers:
        identity = f", identity {peer.identity}" if peer.identity else ""
        report.add(f"peer {peer.id} ({peer.country}) at {', '.join(peer.addresses)}{identity}")
