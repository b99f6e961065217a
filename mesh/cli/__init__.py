"""``allelemesh``: the one command-line entry point.

This is the composition root: each subcommand group lives in the package that owns
it (``nodes.index_cli``, ``nodes.node_cli``, ``gateway.cli``, ``mesh.cli.query`` ...)
and is imported, by name so that mypy checks it, when the parser is built: never at
this module's level, so the shared library (and the command groups' own helpers in
``mesh.cli``) can be imported without the node or the gateway.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from mesh.errors import ConfigError, MeshError
from mesh.plumbing.logs import configure_logging

#: What a command group is: a function that registers its subcommands on the subparsers.
CommandGroup = Callable[["argparse._SubParsersAction[Any]"], None]


def command_groups() -> tuple[CommandGroup, ...]:
    """Every command group, in ``--help`` order (a group missing here fails at import)."""
    from gateway.cli import add_gateway_commands
    from mesh.cli.annotate import add_annotate_commands
    from mesh.cli.check import add_mesh_commands
    from mesh.cli.health import add_health_commands
    from mesh.cli.pki import add_pki_commands
    from mesh.cli.query import add_query_commands
    from mesh.cli.trace import add_trace_commands
    from nodes.hail_cli import add_hail_commands
    from nodes.index_cli import add_index_commands
    from nodes.node_cli import add_node_commands

    return (
        add_index_commands,
        add_node_commands,
        add_gateway_commands,
        add_query_commands,
        add_annotate_commands,
        add_pki_commands,
        add_trace_commands,
        add_health_commands,
        add_hail_commands,
        add_mesh_commands,
    )


EXIT_ERROR = 1
EXIT_USAGE = 2


def version_text() -> str:
    """Package version, ``mesh.v1`` contract (with a digest of its descriptors), index schema.

    The digest differs as soon as two builds' wire contracts differ, so operators of two
    countries can compare one line instead of reading protos.
    """
    from importlib.metadata import PackageNotFoundError, version

    from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2, trace_service_pb2

    try:
        package = version("allelemesh")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        package = "unknown (not installed)"
    digest = hashlib.sha256()
    modules = (allele_pb2, allele_service_pb2, catalog_service_pb2, trace_service_pb2)
    for module in modules:
        digest.update(module.DESCRIPTOR.serialized_pb)
    lines = [
        f"allelemesh {package}",
        f"wire contract: {allele_pb2.DESCRIPTOR.package} (descriptors sha256:"
        f"{digest.hexdigest()[:16]})",
    ]
    from nodes.index.index_dir import SCHEMA_VERSION

    lines.append(f"index schema: {SCHEMA_VERSION}")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    """``--version``: computed only when asked (it imports the generated code)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every command group included."""
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
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the package, mesh.v1 contract and index schema versions",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_commands in command_groups():
        add_commands(subparsers)
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
