"""``make demo``: a real allelemesh mesh on loopback, end to end.

1. Makes a throw-away federation PKI (``allelemesh pki``): a root, a CA per country,
   a certificate per node, the gateway and the portal.
2. Builds one index per country (NO, FI, LU) from the sample VCFs in ``samples/``
   with ``allelemesh index build``.
3. Starts a node process per country and a gateway process in front of them, every
   connection mutually authenticated (mTLS, SPIFFE identities checked).
4. Runs federated lookups through the gateway over gRPC and HTTPS (Beacon v2 and the
   JSON API) and prints per-country and pooled counts with every node's outcome; looks
   up an rsID (``allelemesh query rs11591147``) and a gene (``query PCSK9``, HTTPS
   ``/v1/genes/NARC1``), and annotates a small VCF across the mesh (``allelemesh
   annotate``), showing a few annotated lines.
5. Crawls the gateway's FAIR Data Point as the GDI portal's harvester does and checks
   that every dataset (described by ``samples/dataset-metadata.toml``) validates
   against the GDI shapes in ``../shared/gdi-metadata/shapes``.
   Luxembourg's dataset releases counts rounded to 10 and suppresses AC < 5, so the
   pooled row says ROUNDED rather than pretending to be exact.

Everything runs from this checkout's ``.venv``; state goes to ``demo-run/`` (or
``$ALLELEMESH_DEMO_RUN``). Without ``--serve`` every process is stopped at the end
(nothing is left running); with ``--serve`` (``make demo-serve``) the mesh keeps
running until Ctrl-C or SIGTERM so the pages can be browsed. For the browser the demo
writes ``demo-run/pki/eu-portal-backend.p12``, a PKCS#12 bundle of the portal's client
certificate (password ``allelemesh-demo``), and prints how to import it with its root CA.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mesh.cli.query import print_frequencies  # noqa: E402
from mesh.config import TlsConfig  # noqa: E402
from mesh.fdp import SHAPES_ENV, load_shapes, validate  # noqa: E402
from mesh.plumbing.channels import open_channel  # noqa: E402
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc  # noqa: E402

RUN = Path(os.environ.get("ALLELEMESH_DEMO_RUN") or ROOT / "demo-run")
PKI = RUN / "pki"
CLI = [sys.executable, "-m", "mesh"]
TRUST_DOMAIN = "allelemesh.example"
COUNTRIES = (
    ("NO", "no-oslo-1", "Norway"),
    ("FI", "fi-helsinki-1", "Finland"),
    ("LU", "lu-belval-1", "Luxembourg"),
)
GATEWAY = ("EU", "eu-gateway-1")
PORTAL = ("EU", "eu-portal-backend")
console = Console(width=150)
#: Password of the demo's PKCS#12 bundle (a throw-away PKI: not a secret).
P12_PASSWORD = "allelemesh-demo"  # noqa: S105


def free_port() -> int:
    """An ephemeral loopback port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(args: list[str]) -> None:
    """Run a CLI step, showing the command."""
    console.print(f"[dim]$ allelemesh {' '.join(args[len(CLI) :])}[/dim]")
    subprocess.run(args, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def tls_of(name: str) -> TlsConfig:
    """The [tls] of one PKI entity (files named after it)."""
    return TlsConfig(ca=(PKI / "root-ca.crt",), cert=PKI / f"{name}.crt", key=PKI / f"{name}.key")


def make_pki() -> None:
    """A throw-away federation PKI: root, one CA per country, one certificate per entity."""
    run([*CLI, "pki", "init", "--out", str(PKI), "--trust-domain", TRUST_DOMAIN])
    for cc in sorted({c for c, _n, _ in COUNTRIES} | {GATEWAY[0]}):
        run([*CLI, "pki", "country", "--cc", cc, "--out", str(PKI)])
    for cc, node_id, _name in COUNTRIES:
        run([*CLI, "pki", "issue", "--cc", cc, "--role", "node", "--name", node_id,
             "--out", str(PKI)])  # fmt: skip
    run([*CLI, "pki", "issue", "--cc", GATEWAY[0], "--role", "gateway", "--name", GATEWAY[1],
         "--out", str(PKI)])  # fmt: skip
    run([*CLI, "pki", "issue", "--cc", PORTAL[0], "--role", "operator", "--name", PORTAL[1],
         "--out", str(PKI)])  # fmt: skip


def write_browser_bundle() -> Path:
    """The portal's key and certificate as PKCS#12, the format browsers import."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    tls = tls_of(PORTAL[1])
    chain = x509.load_pem_x509_certificates(tls.cert.read_bytes())
    key = serialization.load_pem_private_key(tls.key.read_bytes(), password=None)
    bundle = pkcs12.serialize_key_and_certificates(
        PORTAL[1].encode(),
        cast("pkcs12.PKCS12PrivateKeyTypes", key),
        chain[0],
        chain[1:],
        serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
    )
    path = PKI / f"{PORTAL[1]}.p12"
    path.write_bytes(bundle)
    path.chmod(0o600)
    return path


def how_to_browse(http_port: int, bundle: Path, serving: bool) -> None:
    """What to do next: keep the mesh up, and open the pages in a browser."""
    console.rule("next")
    console.print(f"gateway pages: https://127.0.0.1:{http_port}/ (mTLS: a client certificate "
                  "is required)")  # fmt: skip
    console.print(
        f"in the browser, import {bundle} (password {P12_PASSWORD}) as your certificate "
        f"and {PKI / 'root-ca.crt'} as an authority trusted for websites "
        "(Firefox: Settings > Privacy & Security > Certificates > View Certificates; "
        "Chromium: chrome://certificate-manager)"
    )
    console.print(
        f"or from a shell: curl --cacert {PKI / 'root-ca.crt'} "
        f"--cert {PKI / (PORTAL[1] + '.crt')} --key {PKI / (PORTAL[1] + '.key')} "
        f"https://127.0.0.1:{http_port}/v1/variants/1-55051215-G-GA"
    )
    console.print(f"FAIR Data Point root: https://127.0.0.1:{http_port}/fdp")
    console.print(f"logs and audit records: {RUN}")
    if serving:
        console.print("the mesh is serving until Ctrl-C")
    else:
        console.print(
            "every demo process has stopped now; to keep the mesh up for the pages run "
            "`make demo-serve` (or `.venv/bin/python scripts/demo.py --serve`)"
        )


def wait_healthy(address: str, tls: TlsConfig, deadline_s: float = 30.0) -> None:
    """Wait until a server answers gRPC health SERVING (bounded)."""
    end = time.monotonic() + deadline_s
    with open_channel(address, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < end:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status == 1:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise SystemExit(f"demo: {address} did not become healthy in {deadline_s:.0f} s")


def start(stack: contextlib.ExitStack, name: str, args: list[str]) -> subprocess.Popen[bytes]:
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
        run([*CLI, "index", "build", str(ROOT / "samples" / f"{cc.lower()}.vcf"),
             "--dataset", f"{cc.lower()}-demo", "--assembly", "GRCh38", "--out", str(out),
             "--title", f"{name} demo cohort (synthetic)",
             "--metadata", str(ROOT / "samples" / "dataset-metadata.toml")])  # fmt: skip
        indexes[cc] = out
    return indexes


def write_node_config(cc: str, node_id: str, index: Path, address: str) -> Path:
    """node.toml of one country; Luxembourg's small cohort rounds and suppresses."""
    privacy = "min_allele_count = 5\nround_counts_to = 10\n" if cc == "LU" else ""
    text = f"""[node]
id = "{node_id}"
country = "{cc}"
listen = "{address}"

[tls]
ca = ["{PKI / "root-ca.crt"}"]
cert = "{PKI / f"{node_id}.crt"}"
key = "{PKI / f"{node_id}.key"}"

[audit]
path = "{RUN / f"{node_id}.audit.jsonl"}"

[[datasets]]
id = "{cc.lower()}-demo"
index = "{index}"
# Through the gateway a dataset must admit the gateway AND the caller (the portal).
allow = ["spiffe://{TRUST_DOMAIN}/country/*/gateway/*", "spiffe://{TRUST_DOMAIN}/country/*/node/*",
         "spiffe://{TRUST_DOMAIN}/country/{PORTAL[0]}/operator/{PORTAL[1]}"]
{privacy}"""
    path = RUN / f"{node_id}.toml"
    path.write_text(text)
    return path


def shapes_dir() -> Path | None:
    """The GDI shapes: $ALLELEMESH_GDI_SHAPES, or ../shared beside this (or the main) checkout."""
    if os.environ.get(SHAPES_ENV):
        return Path(os.environ[SHAPES_ENV])
    candidates = [ROOT.parent / "shared"]
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if common.returncode == 0 and common.stdout.strip():
        candidates.append(Path(common.stdout.strip()).parent.parent / "shared")
    for shared in candidates:
        if (shared / "gdi-metadata" / "shapes").is_dir():
            return shared / "gdi-metadata" / "shapes"
    return None


def write_gateway_config(
    nodes: dict[str, str], grpc_port: int, http_port: int, shapes: Path | None
) -> Path:
    """gateway.toml listing every country node with the identity it must present."""
    lines = [
        "[gateway]",
        f'id = "{GATEWAY[1]}"',
        f'country = "{GATEWAY[0]}"',
        f'listen = "127.0.0.1:{grpc_port}"',
        f'http_listen = "127.0.0.1:{http_port}"',
        "timeout_ms = 2000",
        "",
        "[tls]",
        f'ca = ["{PKI / "root-ca.crt"}"]',
        f'cert = "{PKI / f"{GATEWAY[1]}.crt"}"',
        f'key = "{PKI / f"{GATEWAY[1]}.key"}"',
        "",
    ]
    if shapes is not None:
        lines += ["[fdp]", f'shapes = "{shapes}"', ""]
    for cc, node_id, _name in COUNTRIES:
        lines += [
            "[[peers]]",
            f'id = "{node_id}"',
            f'country = "{cc}"',
            f'address = "{nodes[cc]}"',
            f'identity = "spiffe://{TRUST_DOMAIN}/country/{cc}/node/{node_id}"',
            "",
        ]
    path = RUN / "gateway.toml"
    path.write_text("\n".join(lines))
    return path


def grpc_lookups(address: str, tls: TlsConfig) -> str:
    """Federated lookups through the gateway over gRPC (mTLS, as the portal); the trace id."""
    with open_channel(address, tls) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        variant = allele_pb2.Variant(
            chromosome="1", position=55051215, reference_bases="G", alternate_bases="GA"
        )
        console.rule("gRPC LookupVariant 1-55051215-G-GA via the gateway")
        response, call = stub.LookupVariant.with_call(
            allele_service_pb2.LookupVariantRequest(
                assembly=allele_pb2.ASSEMBLY_GRCH38, variant=variant
            ),
            timeout=5.0,
        )
        print_frequencies(response, sys.stdout)
        trace_id = str(dict(call.trailing_metadata() or ()).get("x-trace-id", ""))
        console.print(f"trace id: {trace_id}")
        console.rule("gRPC SearchRegion 1:1-20,000,000 (first page of 5)")
        region = stub.SearchRegion(
            allele_service_pb2.SearchRegionRequest(
                assembly=allele_pb2.ASSEMBLY_GRCH38,
                region=allele_pb2.Region(chromosome="1", start=1, end=20_000_000),
                page_size=5,
            ),
            timeout=5.0,
        )
        print_frequencies(region, sys.stdout)
    return trace_id


def tls_args(tls: TlsConfig) -> list[str]:
    """``--ca --cert --key`` of a client identity, for the CLI."""
    return ["--ca", str(tls.ca[0]), "--cert", str(tls.cert), "--key", str(tls.key)]


def rsid_lookup(address: str, tls: TlsConfig) -> None:
    """An rsID: each node resolves it over its datasets' VCF ID column."""
    console.rule("allelemesh query rs11591147 (an rsID, via the gateway)")
    args = [*CLI, "query", "rs11591147", "--target", address, *tls_args(tls)]
    subprocess.run(args, cwd=ROOT, check=True, timeout=60)


def gene_lookups(address: str, http: str, tls: TlsConfig) -> None:
    """A gene: the gateway resolves the symbol to its GRCh38 span; nodes see the region."""
    console.rule("allelemesh query PCSK9 (a gene, resolved by the gateway)")
    subprocess.run([*CLI, "query", "PCSK9", "--target", address, *tls_args(tls)], check=True)
    console.rule("HTTPS GET /v1/genes/NARC1 (a previous symbol of PCSK9)")
    with urllib.request.urlopen(f"{http}/v1/genes/NARC1", context=https_context(tls)) as reply:
        body = json.load(reply)
    afs = ", ".join(str(r["pooled"]["allele_frequency"]) for r in body["results"])
    console.print(f"{body['gene']['resolution']}\n{len(body['results'])} variants, pooled AF {afs}")


def annotate_vcf(address: str, tls: TlsConfig) -> None:
    """A VCF annotated across the mesh: per-country and pooled AF/AC/AN per ALT."""
    import pysam

    source = RUN / "to-annotate.vcf"
    with pysam.VariantFile(str(ROOT / "samples" / "no.vcf")) as vcf:
        header = [line for line in str(vcf.header).splitlines() if not line.startswith("##INFO")]
        records = [str(r).split("\t")[:7] for r in vcf]
    lines = [*header[:-1], header[-1]]
    for cols in records:
        lines.append("\t".join([*cols, "."]))
    lines.append("chrX\t155000000\t.\tA\tG\t.\tPASS\t.")  # no country holds it: last
    source.write_text("\n".join(lines) + "\n")
    out = RUN / "annotated.vcf.gz"
    console.rule("allelemesh annotate: a VCF across the mesh (AF/AC/AN per country, pooled)")
    args = [*CLI, "annotate", str(source), "--target", address, "-o", str(out), *tls_args(tls)]
    console.print(f"[dim]$ allelemesh {' '.join(args[len(CLI) :])}[/dim]")
    subprocess.run(args, cwd=ROOT, check=True, timeout=120)
    with pysam.VariantFile(str(out)) as annotated:
        shown = [str(r).rstrip() for r, _ in zip(annotated, range(4), strict=False)]
        last = [str(r).rstrip() for r in annotated][-2:]
    console.print(f"{out} (bgzipped, tabix-indexed); the first records and the last:")
    for line in [*shown, *last]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def show_trace(trace_id: str, gateway_config: Path) -> None:
    """The operator's view of the lookup: one trace across every country."""
    console.rule(f"allelemesh trace show {trace_id} (as an operator)")
    operator = tls_of(PORTAL[1])
    result = subprocess.run(
        [*CLI, "trace", "show", trace_id, "--config", str(gateway_config),
         "--cert", str(operator.cert), "--key", str(operator.key)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    console.print(result.stdout.rstrip(), markup=False, highlight=False)


def https_context(tls: TlsConfig) -> ssl.SSLContext:
    """Client TLS for the gateway's HTTPS port, presenting the portal's certificate."""
    context = ssl.create_default_context(cafile=str(tls.ca[0]))
    context.load_cert_chain(str(tls.cert), str(tls.key))
    return context


def http_lookups(http: str, tls: TlsConfig) -> None:
    """The same question over HTTPS: the JSON API and Beacon v2."""
    context = https_context(tls)
    console.rule("HTTPS GET /v1/variants/chr1:55051215:G:GA")
    url = f"{http}/v1/variants/chr1:55051215:G:GA"
    with urllib.request.urlopen(url, timeout=10, context=context) as reply:
        body = json.load(reply)
    pooled = body.get("pooled", {})
    console.print(
        f"pooled AC={pooled.get('allele_count')} AN={pooled.get('allele_number')} "
        f"AF={pooled.get('allele_frequency')} precision={pooled.get('precision')}"
    )
    query = (
        "assemblyId=GRCh38&referenceName=1&start=55051214&referenceBases=G"
        "&alternateBases=GA&requestedGranularity=record"
    )
    console.rule("HTTPS GET /api/g_variants (Beacon v2, record granularity)")
    with urllib.request.urlopen(f"{http}/api/g_variants?{query}", timeout=10,
                                context=context) as reply:  # fmt: skip
        beacon = json.load(reply)
    summary = beacon.get("responseSummary", {})
    console.print(
        f"exists={summary.get('exists')} numTotalResults={summary.get('numTotalResults')} "
        f"resultSets={len(beacon.get('response', {}).get('resultSets', []))}"
    )


def fdp_crawl(http: str, tls: TlsConfig, shapes: Path | None) -> bool:
    """Crawl the FAIR Data Point as the portal's harvester does; validate what it finds."""
    from rdflib import Graph, URIRef
    from rdflib.namespace import DCAT, RDF

    context = https_context(tls)
    root = f"{http}/fdp"
    # The URLs are printed once, under "next" (tests take the first URL for the pages).
    console.rule("FAIR Data Point /fdp (crawled like the GDI portal's harvester)")
    union, seen, queue = Graph(), set(), [root]
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        request = urllib.request.Request(url, headers={"Accept": "text/turtle"})
        with urllib.request.urlopen(request, timeout=10, context=context) as reply:
            document = Graph().parse(data=reply.read().decode("utf-8"), format="turtle")
        union += document
        queue += [
            str(o) for o in document.objects(None, URIRef("http://www.w3.org/ns/ldp#contains"))
        ]
    catalogs = sorted(str(s) for s in union.subjects(RDF.type, DCAT.Catalog))
    datasets = sorted(str(s) for s in union.subjects(RDF.type, DCAT.Dataset))
    console.print(f"{len(seen)} resources: {len(catalogs)} catalogs, {len(datasets)} datasets")
    console.print("datasets: " + ", ".join(d.rsplit("/", 1)[-1] for d in datasets))
    if shapes is None:
        console.print(f"GDI shapes not found (../shared/gdi-metadata/shapes or ${SHAPES_ENV}): "
                      "not validated")  # fmt: skip
        return True
    problems = validate(union, load_shapes(shapes))
    if problems or len(datasets) != len(COUNTRIES):
        console.print(f"[red]the FDP does not validate: {problems or 'datasets missing'}[/red]")
        return False
    console.print(f"every dataset validates against the GDI shapes in {shapes}")
    return True


def mesh_check(gateway_config: Path) -> None:
    """``allelemesh mesh check`` from the gateway's identity: every peer, every check."""
    console.rule("allelemesh mesh check (from the gateway's identity)")
    args = [*CLI, "mesh", "check", "--config", str(gateway_config), "--canary", "1-55051215-G-GA"]
    console.print(f"[dim]$ allelemesh {' '.join(args[len(CLI) :])}[/dim]")
    done = subprocess.run(args, check=False)
    if done.returncode != 0:
        raise SystemExit(f"demo: mesh check found a failing check (exit {done.returncode})")


def main() -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="keep the mesh up until Ctrl-C")
    args = parser.parse_args()
    # Both unwind the ExitStack (stopping every process), even if SIGINT came in ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    make_pki()
    bundle = write_browser_bundle()
    indexes = build_indexes()
    portal = tls_of(PORTAL[1])
    with contextlib.ExitStack() as stack:
        nodes = {}
        for cc, node_id, _name in COUNTRIES:
            address = f"127.0.0.1:{free_port()}"
            config = write_node_config(cc, node_id, indexes[cc], address)
            start(stack, node_id, [*CLI, "node", "serve", "--config", str(config)])
            nodes[cc] = address
        for address in nodes.values():
            wait_healthy(address, tls_of(GATEWAY[1]))
        console.print(f"nodes up (mTLS): {nodes}")
        grpc_port, http_port = free_port(), free_port()
        shapes = shapes_dir()
        config = write_gateway_config(nodes, grpc_port, http_port, shapes)
        start(stack, "gateway", [*CLI, "gateway", "serve", "--config", str(config)])
        gateway = f"127.0.0.1:{grpc_port}"
        wait_healthy(gateway, portal)
        trace_id = grpc_lookups(gateway, portal)
        http_lookups(f"https://127.0.0.1:{http_port}", portal)
        rsid_lookup(gateway, portal)
        gene_lookups(gateway, f"https://127.0.0.1:{http_port}", portal)
        annotate_vcf(gateway, portal)
        show_trace(trace_id, config)
        fdp_ok = fdp_crawl(f"https://127.0.0.1:{http_port}", portal, shapes)
        mesh_check(config)
        if args.serve:
            how_to_browse(http_port, bundle, serving=True)
            with contextlib.suppress(KeyboardInterrupt):
                signal.pause()
    if not args.serve:  # after the ExitStack: the processes are really gone when we say so
        how_to_browse(http_port, bundle, serving=False)
    return 0 if fdp_ok else 1


if __name__ == "__main__":
    sys.exit(main())
