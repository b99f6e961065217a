"""``allelemesh health``: ask a node or gateway whether it is serving (gRPC health).

Made for probes: a container ``HEALTHCHECK``, a Kubernetes ``exec`` probe, a systemd
``ExecStartPost`` or an operator at a shell. With ``--config`` it reads the process's own
``node.toml`` or ``gateway.toml`` for the address and the TLS material, so a probe needs
no arguments that could drift from the configuration. Exit codes: 0 serving, 1 not
serving or unreachable (the reason on stderr), 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.config import TlsConfig, load_gateway_config, load_node_config
from mesh.config.table import read_toml
from mesh.errors import ConfigError
from mesh.plumbing.channels import open_channel

EXIT_NOT_SERVING = 1

#: Wildcard listen addresses and the loopback address a local probe dials instead.
_LOCAL = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "": "127.0.0.1"}  # noqa: S104


def add_health_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``health``."""
    health = subparsers.add_parser(
        "health",
        help="check that a node or gateway is serving (gRPC health; exit 0 when serving)",
        description="Asks grpc.health.v1.Health/Check. Give --target HOST:PORT with TLS "
        "options, or --config with the process's own node.toml or gateway.toml.",
    )
    where = health.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", help="HOST:PORT of a node or gateway")
    where.add_argument(
        "--config", type=Path, help="node.toml or gateway.toml: its listen address and [tls]"
    )
    health.add_argument(
        "--service",
        default="",
        help="service to check, e.g. mesh.v1.AlleleFrequencyService (default: the server)",
    )
    health.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    health.add_argument("--insecure", action="store_true", help="plaintext gRPC")
    health.add_argument("--ca", type=Path, action="append", default=[], help="trusted CA (PEM)")
    health.add_argument("--cert", type=Path, help="client certificate (PEM)")
    health.add_argument("--key", type=Path, help="client key (PEM)")
    health.set_defaults(handler=run_health)


def local_target(listen: str) -> str:
    """The address a probe on the same host dials for a server listening on ``listen``."""
    host, _, port = listen.rpartition(":")
    return f"{_LOCAL.get(host, host)}:{port}"


def _from_config(path: Path) -> tuple[str, TlsConfig | None]:
    """The local target and TLS material of a node or gateway configuration."""
    data = read_toml(path)
    if "node" in data:
        node = load_node_config(path)
        return local_target(node.listen), node.tls
    if "gateway" in data:
        gateway = load_gateway_config(path)
        return local_target(gateway.listen), gateway.tls
    raise ConfigError(f"{path}: neither a [node] nor a [gateway] table: not a mesh process config")


def _from_arguments(args: argparse.Namespace) -> tuple[str, TlsConfig | None]:
    if args.insecure:
        return args.target, None
    if not (args.ca and args.cert and args.key):
        raise ConfigError("health: give --ca, --cert and --key for mTLS, or --insecure")
    return args.target, TlsConfig(ca=tuple(args.ca), cert=args.cert, key=args.key)


def run_health(args: argparse.Namespace) -> int:
    """Ask once; print ``SERVING`` or the reason it is not."""
    target, tls = _from_config(args.config) if args.config else _from_arguments(args)
    if args.config and args.insecure:
        tls = None
    channel = open_channel(target, tls)
    try:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
        )
    except grpc.RpcError as error:
        reason = error.code().name if hasattr(error, "code") else "ERROR"
        print(f"{target}: not serving: {reason}: {error.details()}", file=sys.stderr)
        return EXIT_NOT_SERVING
    finally:
        channel.close()
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        print(f"{target}: {status}", file=sys.stderr)
        return EXIT_NOT_SERVING
    print(f"{target}: {status}")
    return 0
