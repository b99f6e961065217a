"""``allelemesh gateway serve`` and ``gateway check-config``: run or check the mesh gateway."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from mesh.cli.server_commands import (
    add_check_config_command,
    add_insecure_flag,
    before_serving,
)
from mesh.config import load_gateway_config


def add_gateway_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``gateway serve`` and ``gateway check-config``."""
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
    add_insecure_flag(serve)
    serve.set_defaults(handler=_serve)
    add_check_config_command(gateway_sub, "gateway", "files, certificates, ports", _check_config)


def _check_config(args: argparse.Namespace) -> int:
    from functools import partial

    from mesh.model.genes import read_gene_file
    from mesh.model.reference import FastaReference
    from mesh.server.check_config import ConfigReport, describe_peers, describe_ports, describe_tls

    config = load_gateway_config(args.config)
    report = ConfigReport(str(args.config))
    report.add(f"gateway {config.id}" + (f" ({config.country})" if config.country else ""))
    describe_tls(report, config.tls, args.insecure, tier=("gateway", config.tier))
    listeners = [("[gateway].listen", config.listen, "gRPC")]
    if config.http_listen:
        certs = "optional: bearer tokens accepted" if config.http.oidc else "required"
        scheme = f"HTTPS (client certificates {certs})" if config.tls else "HTTP"
        listeners.append(("[gateway].http_listen", config.http_listen, f"{scheme} API and pages"))
    describe_ports(report, listeners)
    describe_peers(report, config.peers)
    for assembly, path in config.references.items():
        # Opened as serve would (HGVS indels at the HTTP edge): a bad FASTA stops the start.
        if report.check(partial(FastaReference, path, assembly)) is not None:
            report.add(f"reference {assembly}: {path} (HGVS indels at the HTTP edge)")
    for assembly, path in config.genes.items():
        # Read as serve reads it (pysam GTF/BED): a bad gene file stops the start.
        table = report.check(partial(read_gene_file, path, assembly, assembly.value))
        if table is not None:
            report.add(f"genes {assembly}: {path} ({len(table.genes)} names)")
    for issuer in config.http.oidc:
        keys = issuer.jwks_url or str(issuer.jwks_file)
        report.add(f"bearer tokens of {issuer.issuer} for audience {issuer.audience} ({keys})")
    if config.audit_path is not None:
        report.add(f"audit log {config.audit_path}")
    return report.finish()


def _serve(args: argparse.Namespace) -> int:
    from gateway.server import serve_forever

    config = load_gateway_config(args.config)
    if args.listen:
        config = replace(config, listen=args.listen)
    before_serving(config.tls, args.insecure)
    serve_forever(config, insecure=args.insecure)
    return 0
