"""The connection options of the client commands (``query``, ``annotate``) and their channel.

``--insecure`` (plaintext), ``--ca`` + ``--cert`` + ``--key`` (mTLS) or ``--ca`` alone
(TLS without a client certificate, e.g. through a TLS-terminating proxy). Parsed once
here so every client command reads them the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import grpc

from mesh.config import TlsConfig
from mesh.errors import ConfigError
from mesh.plumbing.channels import CHANNEL_OPTIONS, open_channel


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--insecure``, ``--ca`` (repeatable), ``--cert`` and ``--key``."""
    parser.add_argument("--insecure", action="store_true", help="plaintext gRPC")
    parser.add_argument("--ca", type=Path, action="append", default=[], help="trusted CA (PEM)")
    parser.add_argument("--cert", type=Path, help="client certificate (PEM)")
    parser.add_argument("--key", type=Path, help="client key (PEM)")


def client_tls(args: argparse.Namespace, command: str) -> TlsConfig | None:
    """The mTLS material of the options; ``None`` for plaintext or ``--ca`` alone."""
    if args.insecure:
        return None
    if args.ca and not args.cert and not args.key:
        return None  # server-authenticated TLS only: see client_channel
    if not (args.ca and args.cert and args.key):
        raise ConfigError(f"{command}: give --ca, --cert and --key for mTLS, or --insecure")
    return TlsConfig(ca=tuple(args.ca), cert=args.cert, key=args.key)


def client_channel(args: argparse.Namespace, tls: TlsConfig | None) -> grpc.Channel:
    """mTLS, plaintext, or (``--ca`` alone) TLS without a client certificate, to ``--target``."""
    if tls is None and not args.insecure:
        roots = b"".join(Path(ca).read_bytes() for ca in args.ca)
        credentials = grpc.ssl_channel_credentials(root_certificates=roots)
        return grpc.secure_channel(args.target, credentials, options=CHANNEL_OPTIONS)
    return open_channel(args.target, tls)
