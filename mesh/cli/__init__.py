"""``allelemesh``: the one command-line entry point.

This is the composition root: each subcommand group lives in the package that owns
it (``nodes.index_cli``, ``nodes.node_cli``, ``gateway.cli``, ``mesh.cli.query`` ...)
and is imported only when the program starts, so the shared library never imports
the node or the gateway at module level.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from mesh.errors import ConfigError, MeshError
from mesh.plumbing.logs import configure_logging

#: (module, function) pairs; each function registers its subcommands on the subparsers.
COMMAND_GROUPS: tuple[tuple[str, str], ...] = (
    ("nodes.index_cli", "add_index_commands"),
    ("nodes.node_cli", "add_node_commands"),
    ("gateway.cli", "add_gateway_commands"),
    ("mesh.cli.query", "add_query_commands"),
    ("mesh.cli.annotate", "add_annotate_commands"),
    ("mesh.cli.pki", "add_pki_commands"),
    ("mesh.cli.trace", "add_trace_commands"),
    ("mesh.cli.health", "add_health_commands"),
    ("nodes.hail_cli", "add_hail_commands"),
    ("mesh.cli.check", "add_mesh_commands"),
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
    try:
        schema = importlib.import_module("nodes.index.index_dir").SCHEMA_VERSION
        lines.append(f"index schema: {schema}")
    except ModuleNotFoundError:  # a gateway-only installation
        lines.append("index schema: (nodes not installed)")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    """``--version``: computed only when asked (it imports the generated code)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(version_text())
        parser.exit()


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
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the package, mesh.v1 contract and index schema versions",
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
