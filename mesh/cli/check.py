"""``allelemesh mesh check --config FILE [--json] [--insecure] [--canary VARIANT ...]``.

Exit codes: 0 no check failed (warnings allowed), 1 a check failed, 2 a usage or
configuration error (``mesh.cli`` maps :class:`~mesh.errors.ConfigError` to 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mesh.config import PeerConfig, load_gateway_config, load_node_config
from mesh.config.table import read_toml
from mesh.errors import ConfigError

if TYPE_CHECKING:
    from mesh.check._runner import CheckSettings

EXIT_FAILED = 1


def add_mesh_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``mesh check``."""
    group = subparsers.add_parser("mesh", help="check the mesh as seen from this process")
    sub = group.add_subparsers(dest="mesh_command", required=True, metavar="SUBCOMMAND")
    check = sub.add_parser(
        "check",
        help="check every [[peers]] entry: reachable, tls, identity, certificate, tier, "
        "health, contract, catalogue, canary, latency",
        description="Runs from the identity of the node or gateway whose config it reads, "
        "against every address of every [[peers]] entry, concurrently. Exit 0 when no check "
        "failed (warnings allowed), 1 when one failed, 2 for a usage or config error.",
    )
    check.add_argument("--config", type=Path, required=True, help="node.toml or gateway.toml")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--insecure", action="store_true", help="plaintext mesh: certificate checks are skip"
    )
    check.add_argument(
        "--canary",
        action="append",
        default=[],
        metavar="VARIANT",
        help="variant to compare direct and through the mesh, e.g. 1-55051215-G-GA "
        "(repeatable; default: a few from each peer's own region search)",
    )
    check.add_argument("--timeout", type=float, default=5.0, help="seconds per check (default 5)")
    check.add_argument(
        "--latency-warn-ms", type=float, default=None, help="warn above this p50 (default 500)"
    )
    check.set_defaults(handler=run_check)


def _load(path: Path) -> tuple[str, str, Any, tuple[PeerConfig, ...], float, str]:
    data = read_toml(path)
    if "node" in data:
        node = load_node_config(path)
        return "node", node.listen, node.tls, node.peers, 500.0, node.tier
    if "gateway" in data:
        gw = load_gateway_config(path)
        return "gateway", gw.listen, gw.tls, gw.peers, gw.mesh_check_latency_warn_ms, gw.tier
    raise ConfigError(f"{path}: neither a [node] nor a [gateway] table: not a mesh process config")


def settings_from_config(args: argparse.Namespace) -> tuple[tuple[PeerConfig, ...], CheckSettings]:
    """The peers and check settings of ``--config`` and the command line."""
    from mesh.check._runner import CheckSettings
    from mesh.cli.health import local_target
    from mesh.security.tiers import check_own_tier
    from mesh.server.serving import check_transport

    who, listen, tls, peers, latency_ms, tier = _load(args.config)
    if args.insecure:
        tls = None
    check_transport(tls, args.insecure, f"mesh check: {args.config}")
    check_own_tier(tier, tls, who)
    if not peers:
        raise ConfigError(f"{args.config}: no [[peers]] entries: nothing to check")
    if args.timeout <= 0:
        raise ConfigError("mesh check: --timeout must be positive")
    return peers, CheckSettings(
        tls=tls,
        tier=tier,
        mesh_address=local_target(listen),
        canaries=tuple(args.canary),
        timeout_s=args.timeout,
        latency_warn_ms=args.latency_warn_ms if args.latency_warn_ms is not None else latency_ms,
    )


def run_check(args: argparse.Namespace) -> int:
    """Run every check once; print the table (or JSON) and the summary."""
    from rich.console import Console

    from mesh.check._report import print_report
    from mesh.check._runner import run_mesh_check

    peers, settings = settings_from_config(args)
    report = asyncio.run(run_mesh_check(peers, settings))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        console = Console(width=None if sys.stdout.isatty() else 200)
        print_report(report, console)
    return 0 if report.ok else EXIT_FAILED
