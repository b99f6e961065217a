"""``allelemesh``: the one command-line entry point.

This is the composition root: each subcommand group lives in the package that owns
it (``nodes.index_cli``, ``nodes.node_cli``, ``gateway.cli``, ``mesh.query_cli`` ...)
and is imported only when the program starts, so the shared library never imports
the node or the gateway at module level.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from mesh.errors import ConfigError, MeshError
from mesh.logs import configure_logging

#: (module, function) pairs; each function registers its subcommands on the subparsers.
COMMAND_GROUPS: tuple[tuple[str, str], ...] = (
    ("nodes.index_cli", "add_index_commands"),
    ("nodes.node_cli", "add_node_commands"),
    ("gateway.cli", "add_gateway_commands"),
    ("mesh.query_cli", "add_query_commands"),
    ("mesh.pki_cli", "add_pki_commands"),
    ("mesh.trace_cli", "add_trace_commands"),
    ("mesh.health_cli", "add_health_commands"),
)

EXIT_ERROR = 1
EXIT_USAGE = 2

log = logging.getLogger("allelemesh")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every installed command group included."""
    parser = argparse.ArgumentParser(
        prog="allelemesh",
        description="Federated allele-frequency lookups across national genomic data nodes.",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default INFO)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name, function in COMMAND_GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that command group is not part of this installation
            raise
        getattr(module, function)(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level, json_lines=getattr(args, "log_json", None))
    try:
        code = args.handler(args)
    except ConfigError as error:
        print(f"allelemesh: configuration error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except MeshError as error:
        print(f"allelemesh: error: {error.message}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
