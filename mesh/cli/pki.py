"""``allelemesh pki``: make a federation root, country CAs and leaf certificates; revoke them.

``pki revoke`` appends to a deny list (format: :mod:`mesh.security.trust`; default
``DIR/deny-list.txt``) that processes name in ``[tls] deny_list`` and re-read within a
second. ``pki issue --replace`` re-issues a leaf and revokes its predecessor's serial in
the same deny list, so a re-issued certificate's predecessor stops working.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from mesh.errors import ConfigError, InvalidArgumentError
from mesh.security import pki, trust
from mesh.security.identity import ROLES, SpiffeId

DENY_LIST = "deny-list.txt"


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
    init.add_argument(
        "--tier",
        default="production",
        help="the tier every certificate of this PKI belongs to (default production; "
        "give each tier its own PKI and trust domain, e.g. staging.allelemesh.example)",
    )
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
    issue.add_argument(
        "--replace",
        action="store_true",
        help="re-issue an existing leaf and revoke the old certificate's serial in the deny list",
    )
    _deny_list_option(issue)
    issue.set_defaults(handler=_issue)

    revoke = sub.add_parser(
        "revoke",
        help="add a certificate serial or SPIFFE ID to the deny list",
        description="Processes whose [tls] deny_list names the file refuse the certificate "
        "within a second, on new and open connections alike.",
    )
    what = revoke.add_mutually_exclusive_group(required=True)
    what.add_argument("--serial", help="certificate serial in hex (openssl x509 -serial)")
    what.add_argument("--cert", type=Path, help="revoke this certificate file's serial")
    what.add_argument("--spiffe-id", help="revoke every certificate carrying this identity")
    revoke.add_argument("--reason", default="", help="a note kept beside the entry")
    revoke.add_argument(
        "--out", type=Path, default=Path("pki"), help="PKI directory (default ./pki)"
    )
    _deny_list_option(revoke)
    revoke.set_defaults(handler=_revoke)


def _deny_list_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deny-list", type=Path, default=None, help=f"deny list file (default DIR/{DENY_LIST})"
    )


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
    return _report(
        pki.init_root(args.out, args.trust_domain, days=args.days, force=args.force, tier=args.tier)
    )


def _country(args: argparse.Namespace) -> int:
    return _report(pki.issue_country_ca(args.out, args.cc, days=args.days, force=args.force))


def _issue(args: argparse.Namespace) -> int:
    old_serial = None
    if args.replace:
        path = args.out / f"{args.name}.crt"
        if not path.exists():
            raise ConfigError(f"pki: --replace: {path} does not exist (issue it without --replace)")
        old_serial = pki.load_certificate(path).serial_number
    issued = pki.issue_leaf(
        args.out,
        args.cc,
        args.role,
        args.name,
        sans=tuple(args.san) or pki.DEFAULT_SANS,
        days=args.days,
        force=args.force or args.replace,
    )
    _report(issued)
    if old_serial is not None:
        deny_list = _deny_list(args)
        serial = trust.format_serial(old_serial)
        trust.append_to_deny_list(deny_list, trust.SERIAL, serial, _note(f"replaced {args.name}"))
        print(f"revoked serial {serial} (the replaced certificate) in {deny_list}")
    return 0


def _deny_list(args: argparse.Namespace) -> Path:
    path: Path = args.deny_list or args.out / DENY_LIST
    return path


def _note(reason: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"revoked {stamp}" + (f": {reason}" if reason else "")


def _revoke(args: argparse.Namespace) -> int:
    if args.spiffe_id is not None:
        try:
            SpiffeId.parse(args.spiffe_id)
        except InvalidArgumentError as exc:
            raise ConfigError(f"pki revoke: --spiffe-id: {exc.message}") from None
        kind, value = trust.SPIFFE, args.spiffe_id
    else:
        number = (
            pki.load_certificate(args.cert).serial_number
            if args.cert is not None
            else trust.parse_serial(args.serial)
        )
        kind, value = trust.SERIAL, trust.format_serial(number)
    deny_list = _deny_list(args)
    added = trust.append_to_deny_list(deny_list, kind, value, _note(args.reason))
    print(f"{'revoked' if added else 'already revoked:'} {kind} {value} in {deny_list}")
    return 0
