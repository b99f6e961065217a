"""``allelemesh trace show``: one request followed through every country.

With ``--config gateway.toml`` it asks the gateway and every replica of every peer for
the trace (``mesh.v1.TraceService/GetTrace``, an operator certificate required) and
prints one tree; with ``--jsonl FILE...`` it reads exported span files instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc

from mesh.config import GatewayConfig, TlsConfig, load_gateway_config
from mesh.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from mesh.v1 import trace_service_pb2


@dataclass(frozen=True)
class Endpoint:
    """One process to ask: a gateway or one replica of a peer."""

    label: str
    address: str


def add_trace_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register ``trace show``."""
    trace = subparsers.add_parser("trace", help="follow one request across countries")
    commands = trace.add_subparsers(dest="trace_command", required=True, metavar="COMMAND")
    show = commands.add_parser(
        "show",
        help="print one trace as a tree across countries",
        description="Collect the spans of TRACE_ID from the gateway and every peer (or from "
        "exported JSON-lines files) and print them as one tree, slowest path marked.",
    )
    show.add_argument("trace_id", metavar="TRACE_ID", help="32 hex digits (X-Trace-Id)")
    source = show.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="gateway.toml: ask the gateway and its peers")
    source.add_argument("--jsonl", type=Path, nargs="+", metavar="FILE", help="exported spans")
    show.add_argument("--json", action="store_true", help="print the assembled trace as JSON")
    show.add_argument("--target", help="gateway HOST:PORT (default: [gateway].listen)")
    show.add_argument("--ca", type=Path, action="append", default=[], help="trusted CA (PEM)")
    show.add_argument("--cert", type=Path, help="operator certificate (default: [tls].cert)")
    show.add_argument("--key", type=Path, help="operator key (default: [tls].key)")
    show.add_argument("--timeout", type=float, default=10.0, help="seconds per node (default 10)")
    show.set_defaults(handler=run_trace_show)


def _tls(args: argparse.Namespace, config: GatewayConfig) -> TlsConfig:
    if args.cert or args.key or args.ca:
        if not (args.cert and args.key):
            raise ConfigError("trace show: give both --cert and --key (an operator identity)")
        ca = tuple(args.ca) or (config.tls.ca if config.tls else ())
        if not ca:
            raise ConfigError("trace show: give --ca (the federation's trust bundle)")
        return TlsConfig(ca=ca, cert=args.cert, key=args.key)
    if config.tls is None:
        raise ConfigError(
            "trace show: the config has no [tls]; give --ca, --cert and --key of an operator "
            "(traces are served over mTLS to operators only)"
        )
    return config.tls


def _local(address: str) -> str:
    """A wildcard listen address is reached on loopback."""
    host, _, port = address.rpartition(":")
    return f"localhost:{port}" if host in ("0.0.0.0", "[::]", "") else address  # noqa: S104


def endpoints_of(config: GatewayConfig, target: str | None = None) -> list[Endpoint]:
    """The gateway, then every replica of every peer (each keeps its own buffer)."""
    where = f"{config.country or '--'} {config.id}"
    endpoints = [Endpoint(f"gateway {where}", target or _local(config.listen))]
    for peer in config.peers:
        for address in peer.addresses:
            endpoints.append(Endpoint(f"{peer.country} {peer.id}", address))
    return endpoints


def _ask(
    endpoint: Endpoint, trace_id: str, tls: TlsConfig, timeout: float
) -> tuple[Endpoint, list[trace_service_pb2.Span], str]:
    from mesh.plumbing.channels import open_channel
    from mesh.v1 import trace_service_pb2, trace_service_pb2_grpc

    channel = open_channel(endpoint.address, tls)
    try:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        response = stub.GetTrace(
            trace_service_pb2.GetTraceRequest(trace_id=trace_id), timeout=timeout
        )
        return endpoint, list(response.spans), ""
    except grpc.RpcError as error:
        return endpoint, [], f"{error.code().name}: {error.details()}"
    finally:
        channel.close()


def fetch_spans(
    endpoints: Sequence[Endpoint], trace_id: str, tls: TlsConfig, timeout: float
) -> list[trace_service_pb2.Span]:
    """Every span any endpoint holds; endpoints that fail are reported on stderr."""
    spans: list[trace_service_pb2.Span] = []
    with ThreadPoolExecutor(max_workers=min(16, len(endpoints) or 1)) as pool:
        answers = pool.map(lambda e: _ask(e, trace_id, tls, timeout), endpoints)
        for endpoint, found, problem in answers:
            if problem:
                print(
                    f"warning: {endpoint.label} at {endpoint.address}: {problem}", file=sys.stderr
                )
            spans.extend(found)
    return spans


def run_trace_show(args: argparse.Namespace) -> int:
    """Collect, assemble and print one trace."""
    from mesh.tracing import assemble, read_jsonl, render_tree, trace_to_json
    from mesh.tracing._spans import parse_trace_id

    trace_id = f"{parse_trace_id(args.trace_id, 'TRACE_ID'):032x}"
    if args.jsonl:
        spans = read_jsonl(args.jsonl)
    else:
        config = load_gateway_config(args.config)
        spans = fetch_spans(
            endpoints_of(config, args.target), trace_id, _tls(args, config), args.timeout
        )
    roots = assemble(spans, trace_id)
    if not roots:
        raise NotFoundError(f"no spans of trace {trace_id} found", reason="TRACE_NOT_FOUND")
    if args.json:
        print(json.dumps(trace_to_json(roots, trace_id), indent=2))
    else:
        print(render_tree(roots, trace_id))
    return 0
