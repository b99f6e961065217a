"""``allelemesh node serve`` and ``node check-config``: run or check a country node."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mesh.cli.server_commands import (
    add_check_config_command,
    add_insecure_flag,
    before_serving,
)
from mesh.config import DatasetConfig, NodeConfig, load_node_config
from mesh.errors import ConfigError


def add_node_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``node serve`` and ``node check-config``."""
    node = subparsers.add_parser("node", help="run a country node")
    node_sub = node.add_subparsers(dest="node_command", required=True, metavar="SUBCOMMAND")
    serve = node_sub.add_parser(
        "serve",
        help="serve allele lookups over gRPC",
        description="Serve the node's datasets. Either --config node.toml, or the quick "
        "form --index DIR [--index DIR ...] --node-id ID --country CC for one machine.",
    )
    serve.add_argument("--config", type=Path, help="node.toml")
    serve.add_argument(
        "--index",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="an index directory to serve (repeatable; quick form)",
    )
    serve.add_argument("--listen", help="HOST:PORT to bind (default 127.0.0.1:50051)")
    serve.add_argument("--node-id", help="this node's id (quick form)")
    serve.add_argument("--country", help="ISO 3166-1 alpha-2 country code (quick form)")
    serve.add_argument("--workers", type=int, help="processes sharing the port (SO_REUSEPORT)")
    add_insecure_flag(serve)
    serve.set_defaults(handler=_serve)
    add_check_config_command(node_sub, "node", "files, certificates, indexes, ports", _check_config)


def _check_config(args: argparse.Namespace) -> int:
    from nodes.serve.check_config import check_node

    return check_node(load_node_config(args.config), str(args.config), insecure=args.insecure)


def _quick_config(args: argparse.Namespace) -> NodeConfig:
    from nodes.index.index_dir import read_metadata

    missing = [
        flag
        for flag, value in (("--node-id", args.node_id), ("--country", args.country))
        if not value
    ]
    if missing:
        raise ConfigError(f"node serve: {', '.join(missing)} required without --config")
    datasets = []
    for path in args.index:
        if not path.exists():
            raise ConfigError(f"node serve: --index {path}: no such index directory")
        datasets.append(DatasetConfig(id=read_metadata(path).id, index=path))
    return NodeConfig(
        id=args.node_id,
        country=args.country.upper(),
        listen=args.listen or "127.0.0.1:50051",
        datasets=tuple(datasets),
    )


def _serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from nodes.serve.server import serve_forever

    if args.config is not None:
        if args.index:
            raise ConfigError("node serve: give --config or --index, not both")
        config = load_node_config(args.config)
        if args.listen:
            config = replace(config, listen=args.listen)
    elif args.index:
        config = _quick_config(args)
    else:
        raise ConfigError("node serve: give --config node.toml or at least one --index DIR")
    if args.workers is not None:
        if args.workers < 1:
            raise ConfigError("node serve: --workers must be at least 1")
        config = replace(config, workers=args.workers)
    before_serving(config.tls, args.insecure)
    serve_forever(config, insecure=args.insecure, log_level=args.log_level)
    return 0
