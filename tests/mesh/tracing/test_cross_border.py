"""One portal request through a gateway and three country nodes, each its own process, mTLS.

The portal's traceparent is continued; the gateway's span, one client span per peer and
each node's server span share one trace with correct parent links; ``trace show``
assembles it through every country's TraceService; no span holds the coordinates;
only operators may read traces; the gateway's /metrics counts the requests made.
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mesh.config import TlsConfig
from mesh.plumbing.channels import open_channel
from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    trace_service_pb2,
    trace_service_pb2_grpc,
)
from tests.mesh_harness import free_port, wait_for_health
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CLI = [sys.executable, "-m", "mesh"]
COUNTRIES = (("NO", "no-oslo-1", 12), ("FI", "fi-helsinki-1", 7), ("SE", "se-umea-1", 3))
PORTAL_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PORTAL_PARENT = "00f067aa0ba902b7"


def tls_toml(tls: TlsConfig) -> str:
    return f'[tls]\nca = ["{tls.ca[0]}"]\ncert = "{tls.cert}"\nkey = "{tls.key}"\n'


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("cross-border")
    pki = TestPki.create(root / "pki", countries=("NO", "FI", "SE", "EU"))
    processes: list[subprocess.Popen[bytes]] = []
    nodes = {}
    try:
        for cc, node_id, ac in COUNTRIES:
            records = [SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[ac]))]
            vcf = write_sites_vcf(root / f"{cc}.vcf", records, bgzip=True)
            index = root / f"{cc}-index"
            subprocess.run([*CLI, "index", "build", str(vcf), "--dataset", f"{cc.lower()}-ds",
                            "--out", str(index)], check=True, capture_output=True)  # fmt: skip
            address = f"127.0.0.1:{free_port()}"
            tls = pki.tls(pki.leaf(cc, "node", node_id))
            config = root / f"{node_id}.toml"
            config.write_text(
                f'[node]\nid = "{node_id}"\ncountry = "{cc}"\nlisten = "{address}"\n'
                + tls_toml(tls)
                + f'[[datasets]]\nid = "{cc.lower()}-ds"\nindex = "{index}"\n'
            )
            processes.append(subprocess.Popen([*CLI, "node", "serve", "--config", str(config)],
                                              cwd=ROOT, stderr=subprocess.DEVNULL))  # fmt: skip
            nodes[cc] = (node_id, address, ac)
        gateway_tls = pki.tls(pki.leaf("EU", "gateway", "eu-gw-1"))
        grpc_address, http_port = f"127.0.0.1:{free_port()}", free_port()
        peers = "".join(
            f'[[peers]]\nid = "{node_id}"\ncountry = "{cc}"\naddress = "{address}"\n'
            for cc, (node_id, address, _ac) in nodes.items()
        )
        gateway_toml = root / "gateway.toml"
        gateway_toml.write_text(
            f'[gateway]\nid = "eu-gw-1"\nlisten = "{grpc_address}"\n'
            f'http_listen = "127.0.0.1:{http_port}"\n' + tls_toml(gateway_tls) + peers
        )
        operator = pki.tls(pki.leaf("EU", "operator", "ops-1"))
        for _node_id, address, _ac in nodes.values():
            wait_for_health(address, 30.0, tls=operator)
        processes.append(subprocess.Popen([*CLI, "gateway", "serve", "--config", str(gateway_toml)],
                                          cwd=ROOT, stderr=subprocess.DEVNULL))  # fmt: skip
        wait_for_health(grpc_address, 30.0, tls=operator)
        yield {
            "pki": pki, "nodes": nodes, "gateway": grpc_address, "http_port": http_port,
            "gateway_toml": gateway_toml, "operator": operator,
        }  # fmt: skip
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def portal_lookup(mesh: dict) -> tuple[allele_service_pb2.LookupVariantResponse, str]:
    traceparent = f"00-{PORTAL_TRACE}-{PORTAL_PARENT}-01"
    with open_channel(mesh["gateway"], mesh["operator"]) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        response, call = stub.LookupVariant.with_call(
            allele_service_pb2.LookupVariantRequest(variant=allele_pb2.Variant(
                chromosome="1", position=55051215, reference_bases="G", alternate_bases="GA")),
            metadata=(("traceparent", traceparent),), timeout=10,
        )  # fmt: skip
    trailing = dict(call.trailing_metadata() or ())
    return response, str(trailing.get("x-trace-id", ""))


def walk(node: dict) -> Iterator[dict]:
    yield node
    for child in node["children"]:
        yield from walk(child)


def test_one_trace_across_every_country(mesh):
    response, trace_id = portal_lookup(mesh)
    assert trace_id == PORTAL_TRACE  # the portal's trace is continued, not replaced
    assert sorted(f.counts.allele_count for f in response.frequencies) == [3, 7, 12]

    shown = subprocess.run(
        [*CLI, "trace", "show", trace_id, "--config", str(mesh["gateway_toml"]), "--json",
         "--cert", str(mesh["operator"].cert), "--key", str(mesh["operator"].key)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
    )  # fmt: skip
    trace = json.loads(shown.stdout)
    spans = [s for root in trace["roots"] for s in walk(root)]
    assert {s["trace_id"] for s in spans} == {PORTAL_TRACE}
    [gateway_span] = [s for s in spans if s.get("kind") == "SPAN_KIND_SERVER"
                      and s.get("node_id") == "eu-gw-1"]  # fmt: skip
    assert gateway_span["parent_span_id"] == PORTAL_PARENT
    clients = [s for s in spans if s.get("kind") == "SPAN_KIND_CLIENT"]
    assert sorted(s["attributes"]["mesh.peer.country"] for s in clients) == ["FI", "NO", "SE"]
    by_id = {s["span_id"]: s for s in spans}
    for cc, (node_id, _address, _ac) in mesh["nodes"].items():
        [server] = [s for s in spans if s.get("node_id") == node_id]
        client = by_id[server["parent_span_id"]]
        assert client["attributes"]["mesh.peer.id"] == node_id
        assert client["attributes"]["mesh.peer.country"] == cc
        assert client["parent_span_id"] == gateway_span["span_id"]
        assert server["attributes"]["mesh.result.count"] == "1"
    # Privacy: no attribute anywhere carries the coordinates.
    assert "55051215" not in shown.stdout

    table = subprocess.run(
        [*CLI, "trace", "show", trace_id, "--config", str(mesh["gateway_toml"]),
         "--cert", str(mesh["operator"].cert), "--key", str(mesh["operator"].key)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
    ).stdout  # fmt: skip
    for name in ("eu-gw-1", "no-oslo-1", "fi-helsinki-1", "se-umea-1"):
        assert name in table
    # Only the gateway's span has a parent outside the mesh (the portal's).
    assert table.count("(parent not collected)") == 1


def test_only_operators_may_read_traces(mesh):
    pki: TestPki = mesh["pki"]
    node_tls = pki.tls(pki.leaf("NO", "node", "no-curious-1"))
    _node_id, address, _ac = mesh["nodes"]["NO"]
    with open_channel(address, node_tls) as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetTrace(trace_service_pb2.GetTraceRequest(trace_id=PORTAL_TRACE), timeout=5)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_http_trace_headers_and_metrics(mesh):
    pki: TestPki = mesh["pki"]
    operator = mesh["operator"]
    context = ssl.create_default_context(cafile=str(pki.root_cert))
    context.load_cert_chain(str(operator.cert), str(operator.key))
    base = f"https://127.0.0.1:{mesh['http_port']}"
    traceparent = f"00-{'ab' * 16}-{'cd' * 8}-01"
    request = urllib.request.Request(f"{base}/v1/variants/1-55051215-G-GA",
                                     headers={"traceparent": traceparent})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10, context=context) as reply:
        assert reply.headers["X-Trace-Id"] == "ab" * 16
        assert reply.headers["traceresponse"].startswith(f"00-{'ab' * 16}-")
        assert json.load(reply)["pooled"]["allele_count"] == 22
    before = _counted(base, context)
    for _ in range(3):
        portal_lookup(mesh)
    after = _counted(base, context)
    # One server request per lookup at the gateway, one peer call per country each.
    assert after["mesh_rpc_server_requests_total"] - before["mesh_rpc_server_requests_total"] == 3
    assert after["mesh_peer_requests_total"] - before["mesh_peer_requests_total"] == 9


def _counted(base: str, context: ssl.SSLContext) -> dict[str, float]:
    """LookupVariant counters of the gateway's /metrics, parsed as Prometheus text."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10, context=context) as reply:
        text = reply.read().decode()
    totals = {"mesh_rpc_server_requests_total": 0.0, "mesh_peer_requests_total": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals and "LookupVariant" in json.dumps(sample.labels):
                totals[sample.name] += sample.value
    return totals
