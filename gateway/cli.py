"""``allelemesh gateway serve``: run the mesh gateway."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from mesh.config import load_gateway_config

log = logging.getLogger(__name__)


def add_gateway_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``gateway serve``."""
    gateway = subparsers.add_parser("gateway", help="run the mesh gateway")
    gateway_sub = gateway.add_subparsers(
        dest="gateway_command", required=True, metavar="SUBCOMMAND"
    )
    serve = gateway_sub.add_parser(
        "serve",
        help="serve mesh-wide lookups over gRPC (and HTTP when configured)",
        description="Fan every request out to the [[peers]] of gateway.toml and merge the "
        "answers: per-country frequencies, pooled counts, one outcome per node.",
    )
    serve.add_argument("--config", type=Path, required=True, help="gateway.toml")
    serve.add_argument("--listen", help="HOST:PORT to bind, overriding [gateway].listen")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext gRPC; refused when the config has a [tls] table",
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from gateway.server import serve_forever

    config = load_gateway_config(args.config)
    if args.listen:
        config = replace(config, listen=args.listen)
    if args.insecure:
        log.warning("serving plaintext gRPC (--insecure): use only on a trusted network")
    serve_forever(config, insecure=args.insecure)
    return 0
