"""``allelemesh pki``: make a federation root, country CAs and leaf certificates."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mesh import pki
from mesh.identity import ROLES


def add_pki_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``pki init``, ``pki country`` and ``pki issue``."""
    group = subparsers.add_parser(
        "pki",
        help="make the federation's CAs and certificates",
        description="A throw-away or small production PKI: one root per federation, one "
        "intermediate CA per country, EC P-256 leaves with SPIFFE URI SANs.",
    )
    sub = group.add_subparsers(dest="pki_command", required=True, metavar="SUBCOMMAND")

    init = sub.add_parser("init", help="make the federation root CA")
    init.add_argument("--trust-domain", required=True, help="e.g. allelemesh.example")
    _common(init, days=pki.ROOT_DAYS)
    init.set_defaults(handler=_init)

    country = sub.add_parser("country", help="make a country's intermediate CA")
    country.add_argument("--cc", required=True, help="ISO 3166-1 alpha-2 code, e.g. NO")
    _common(country, days=pki.COUNTRY_DAYS)
    country.set_defaults(handler=_country)

    issue = sub.add_parser("issue", help="issue a leaf key and certificate")
    issue.add_argument("--cc", required=True, help="the issuing country, e.g. NO")
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--name", required=True, help="e.g. no-oslo-1 (also the file name)")
    issue.add_argument(
        "--san",
        action="append",
        default=[],
        help="DNS name or IP clients dial (repeatable; default localhost and 127.0.0.1)",
    )
    _common(issue, days=pki.LEAF_DAYS)
    issue.set_defaults(handler=_issue)


def _common(parser: argparse.ArgumentParser, *, days: int) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("pki"), help="PKI directory (default ./pki)"
    )
    parser.add_argument("--days", type=int, default=days, help=f"validity (default {days})")
    parser.add_argument("--force", action="store_true", help="replace existing files (rotation)")


def _report(issued: pki.Issued) -> int:
    print(f"wrote {issued.cert}")
    print(f"wrote {issued.key} (mode 0600)")
    return 0


def _init(args: argparse.Namespace) -> int:
    return _report(pki.init_root(args.out, args.trust_domain, days=args.days, force=args.force))


def _country(args: argparse.Namespace) -> int:
    return _report(pki.issue_country_ca(args.out, args.cc, days=args.days, force=args.force))


def _issue(args: argparse.Namespace) -> int:
    issued = pki.issue_leaf(
        args.out,
        args.cc,
        args.role,
        args.name,
        sans=tuple(args.san) or pki.DEFAULT_SANS,
        days=args.days,
        force=args.force,
    )
    return _report(issued)
