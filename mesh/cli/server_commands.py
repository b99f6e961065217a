"""What ``node`` and ``gateway`` share on the command line: ``--insecure`` and ``check-config``.

Both serve from a TOML file and both can be checked without serving; the flags and the
contract of ``check-config`` (load and check everything a start would, serve nothing,
exit 0 or 2) are written here once so the two processes say them alike.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mesh.config import TlsConfig
from mesh.plumbing.grpc_core_log import ensure_handshake_trace, route_grpc_core_logs

log = logging.getLogger(__name__)


def add_insecure_flag(serve: argparse.ArgumentParser) -> None:
    """``serve --insecure``: plaintext gRPC, refused when the config has a ``[tls]`` table."""
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext gRPC; refused when the config has a [tls] table",
    )


def add_check_config_command(
    subparsers: argparse._SubParsersAction[Any],
    process: str,
    checks: str,
    handler: Callable[[argparse.Namespace], int],
) -> None:
    """``<process> check-config FILE [--insecure]`` (``checks``: what it checks, for --help)."""
    check = subparsers.add_parser(
        "check-config",
        help=f"validate {process}.toml as a start would ({checks})",
        description=f"Load and check everything `{process} serve --config FILE` would, print "
        "what would be served, and serve nothing. Exit 0 if a start would succeed, 2 if not.",
    )
    check.add_argument("config", type=Path, metavar="FILE", help=f"{process}.toml")
    check.add_argument("--insecure", action="store_true", help="as `serve --insecure` would")
    check.set_defaults(handler=handler)


def before_serving(tls: TlsConfig | None, insecure: bool) -> None:
    """What ``serve`` does before it starts: warn of plaintext, log failed handshakes.

    With ``[tls]``, failed client handshakes become JSON log lines naming the peer
    (:mod:`mesh.plumbing.grpc_core_log`).
    """
    if insecure:
        log.warning("serving plaintext gRPC (--insecure): use only on a trusted network")
    if tls is not None:
        ensure_handshake_trace()
        route_grpc_core_logs()
