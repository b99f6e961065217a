"""The terminal table (rich) and the one-line summary of a :class:`MeshReport`."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from mesh.check._model import CHECKS, MeshReport, Status

_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.SKIP: "dim"}


def summary(report: MeshReport) -> str:
    """``mesh check (tier production): 4 peer addresses: 31 ok, 1 warn, 2 fail, 6 skip: FAILED``."""
    counts = report.counts()
    parts = ", ".join(f"{counts[s]} {s.value}" for s in Status)
    verdict = "OK" if report.ok else "FAILED"
    return (
        f"mesh check (tier {report.tier}): {len(report.peers)} peer addresses: {parts}: {verdict}"
    )


def print_report(report: MeshReport, console: Console) -> None:
    """Peers by checks, then what was found where it is not ok, then the summary."""
    table = Table(title=f"allelemesh mesh check: tier {report.tier}", show_lines=False)
    table.add_column("peer")
    table.add_column("address")
    for name in CHECKS:
        table.add_column(name)
    for peer in report.peers:
        cells = []
        for name in CHECKS:
            status = peer.status(name) or Status.SKIP
            cells.append(f"[{_STYLE[status]}]{status.value}[/]")
        table.add_row(f"{peer.id} ({peer.country})", peer.address, *cells)
    console.print(table)
    for peer in report.peers:
        for check in peer.checks:
            if check.status in (Status.FAIL, Status.WARN):
                console.print(
                    f"[{_STYLE[check.status]}]{check.status.value}[/] {peer.id} {peer.address} "
                    f"{check.name}: {check.detail}",
                    markup=True,
                    highlight=False,
                    soft_wrap=True,
                )
    console.print(summary(report), highlight=False, soft_wrap=True)
