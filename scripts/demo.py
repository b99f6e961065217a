"""``make demo``: a real allelemesh mesh on loopback, end to end.

1. Builds one index per country (NO, FI, LU) from the sample VCFs in ``samples/``
   with ``allelemesh index build``.
2. Starts a node process per country and a gateway process in front of them.
3. Runs federated lookups through the gateway over gRPC and HTTP (Beacon v2 and the
   JSON API) and prints per-country and pooled counts with every node's outcome.

Everything runs from this checkout's ``.venv``; state goes to ``demo-run/``. With
``--serve`` the mesh keeps running until Ctrl-C so the pages can be browsed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mesh.query_cli import print_frequencies  # noqa: E402
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc  # noqa: E402

RUN = ROOT / "demo-run"
CLI = [sys.executable, "-m", "mesh"]
COUNTRIES = (
    ("NO", "no-oslo-1", "Norway"),
    ("FI", "fi-helsinki-1", "Finland"),
    ("LU", "lu-belval-1", "Luxembourg"),
)
console = Console(width=150)


def free_port() -> int:
    """An ephemeral loopback port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: list[str]) -> None:
    """Run a CLI step, showing the command."""
    console.print(f"[dim]$ allelemesh {' '.join(args[len(CLI) :])}[/dim]")
    subprocess.run(args, check=True, cwd=ROOT)


def wait_healthy(address: str, deadline_s: float = 30.0) -> None:
    """Wait until a server answers gRPC health SERVING (bounded)."""
    end = time.monotonic() + deadline_s
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < end:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status == 1:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise SystemExit(f"demo: {address} did not become healthy in {deadline_s:.0f} s")


def start(stack: ExitStack, name: str, args: list[str]) -> subprocess.Popen[bytes]:
    """Start a long-running process whose logs go to demo-run/NAME.log."""
    log = (RUN / f"{name}.log").open("wb")
    process = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

    stack.callback(stop)
    return process


def build_indexes() -> dict[str, Path]:
    """Index each country's sample VCF."""
    indexes = {}
    for cc, _node, name in COUNTRIES:
        out = RUN / "indexes" / cc.lower()
        run(
            [
                *CLI,
                "index",
                "build",
                str(ROOT / "samples" / f"{cc.lower()}.vcf"),
                "--dataset",
                f"{cc.lower()}-demo",
                "--assembly",
                "GRCh38",
                "--out",
                str(out),
                "--title",
                f"{name} demo cohort (synthetic)",
            ]
        )
        indexes[cc] = out
    return indexes


def write_gateway_config(nodes: dict[str, str], grpc_port: int, http_port: int) -> Path:
    """gateway.toml listing every country node."""
    lines = [
        "[gateway]",
        'id = "eu-gateway-1"',
        f'listen = "127.0.0.1:{grpc_port}"',
        f'http_listen = "127.0.0.1:{http_port}"',
        "timeout_ms = 2000",
        "",
    ]
    for cc, node_id, _name in COUNTRIES:
        lines += [
            "[[peers]]",
            f'id = "{node_id}"',
            f'country = "{cc}"',
            f'address = "{nodes[cc]}"',
            "",
        ]
    path = RUN / "gateway.toml"
    path.write_text("\n".join(lines))
    return path


def grpc_lookups(address: str) -> None:
    """Federated lookups through the gateway over gRPC."""
    with grpc.insecure_channel(address) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        variant = allele_pb2.Variant(
            chromosome="1", position=55051215, reference_bases="G", alternate_bases="GA"
        )
        console.rule("gRPC LookupVariant 1-55051215-G-GA via the gateway")
        response = stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(
                assembly=allele_pb2.ASSEMBLY_GRCH38, variant=variant
            ),
            timeout=5.0,
        )
        print_frequencies(response, console)
        console.rule("gRPC SearchRegion 1:1-20,000,000 (first page of 5)")
        region = stub.SearchRegion(
            allele_service_pb2.SearchRegionRequest(
                assembly=allele_pb2.ASSEMBLY_GRCH38,
                region=allele_pb2.Region(chromosome="1", start=1, end=20_000_000),
                page_size=5,
            ),
            timeout=5.0,
        )
        print_frequencies(region, console)


def http_lookups(http: str) -> None:
    """The same question over HTTP: the JSON API and Beacon v2."""
    console.rule("HTTP GET /v1/variants/chr1:55051215:G:GA")
    with urllib.request.urlopen(f"{http}/v1/variants/chr1:55051215:G:GA", timeout=10) as reply:
        body = json.load(reply)
    pooled = body.get("pooled", {})
    console.print(
        f"pooled AC={pooled.get('allele_count')} AN={pooled.get('allele_number')} "
        f"AF={pooled.get('allele_frequency')}"
    )
    query = (
        "assemblyId=GRCh38&referenceName=1&start=55051214&referenceBases=G"
        "&alternateBases=GA&requestedGranularity=record"
    )
    console.rule("HTTP GET /api/g_variants (Beacon v2, record granularity)")
    with urllib.request.urlopen(f"{http}/api/g_variants?{query}", timeout=10) as reply:
        beacon = json.load(reply)
    summary = beacon.get("responseSummary", {})
    console.print(
        f"exists={summary.get('exists')} numTotalResults="
        f"{summary.get('numTotalResults')} resultSets="
        f"{len(beacon.get('response', {}).get('resultSets', []))}"
    )


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="keep the mesh up until Ctrl-C")
    args = parser.parse_args()
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    indexes = build_indexes()
    with ExitStack() as stack:
        nodes = {}
        for cc, node_id, _name in COUNTRIES:
            address = f"127.0.0.1:{free_port()}"
            start(
                stack,
                node_id,
                [
                    *CLI,
                    "node",
                    "serve",
                    "--index",
                    str(indexes[cc]),
                    "--listen",
                    address,
                    "--node-id",
                    node_id,
                    "--country",
                    cc,
                    "--insecure",
                ],
            )
            nodes[cc] = address
        for address in nodes.values():
            wait_healthy(address)
        console.print(f"nodes up: {nodes}")
        grpc_port, http_port = free_port(), free_port()
        config = write_gateway_config(nodes, grpc_port, http_port)
        start(stack, "gateway", [*CLI, "gateway", "serve", "--config", str(config), "--insecure"])
        gateway = f"127.0.0.1:{grpc_port}"
        wait_healthy(gateway)
        grpc_lookups(gateway)
        http_lookups(f"http://127.0.0.1:{http_port}")
        console.rule("done")
        console.print(f"pages: http://127.0.0.1:{http_port}/   logs: {RUN}")
        if args.serve:
            console.print("serving until Ctrl-C")
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
