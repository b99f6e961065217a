"""`allelemesh trace show --jsonl`: exported span files read back into one tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc

from mesh.tracing import assemble, outgoing_metadata, peer_span, read_jsonl, render_tree
from mesh.v1 import trace_service_pb2
from tests.mesh.tracing.helpers import PING, TRACE_ID, make_telemetry, run_server, traceparent

ROOT = Path(__file__).resolve().parents[3]


def span(span_id: str, parent: str, start: int, end: int, **fields) -> trace_service_pb2.Span:
    return trace_service_pb2.Span(
        trace_id=TRACE_ID,
        span_id=span_id,
        parent_span_id=parent,
        name=span_id,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        **fields,
    )


def test_slowest_path_follows_the_child_that_ended_last():
    spans = [
        span("root", "portal", 0, 100),
        span("fast", "root", 5, 40),
        span("slow", "root", 10, 95),
        span("slow-child", "slow", 20, 90),
        span("fast", "root", 5, 40),  # the same span from two replicas' answers
        span("elsewhere", "root", 0, 1),
    ]
    spans[-1].trace_id = "f" * 32  # another trace: left out
    (root,) = assemble(spans, TRACE_ID)
    assert [c.span.span_id for c in root.children] == ["fast", "slow"]
    slowest = [
        n.span.span_id for n in (root, *root.children, *root.children[1].children) if n.slowest
    ]
    assert slowest == ["root", "slow", "slow-child"]
    text = render_tree([root], TRACE_ID)
    assert "(parent not collected)" in text.splitlines()[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", "trace", "show", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


async def test_jsonl_exports_are_read_back_as_one_tree(tmp_path):
    gateway_file, node_file = tmp_path / "gw.jsonl", tmp_path / "no.jsonl"
    gateway = make_telemetry("gw-1", "SE", exporter="jsonl", jsonl_path=gateway_file)
    node = make_telemetry("no-oslo-1", "NO", exporter="jsonl", jsonl_path=node_file)

    async def answer(request: bytes, context) -> bytes:
        return b""

    async with (
        run_server(node, {"Ping": answer}) as node_port,
        grpc.aio.insecure_channel(f"127.0.0.1:{node_port}") as to_node,
    ):

        async def fan_out(request: bytes, context) -> bytes:
            with peer_span(gateway, peer_id="no-oslo-1", country="NO", method=PING) as call:
                await to_node.unary_unary(PING)(b"", metadata=outgoing_metadata(), timeout=5)
                call.set_status(0)
            return b""

        async with (
            run_server(gateway, {"Ping": fan_out}) as port,
            grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
        ):
            await channel.unary_unary(PING)(
                b"", metadata=(("traceparent", traceparent()),), timeout=5
            )
    gateway.shutdown()
    node.shutdown()
    assert len(read_jsonl([gateway_file, node_file])) == 3

    shown = run_cli(TRACE_ID, "--jsonl", str(gateway_file), str(node_file))
    assert shown.returncode == 0, shown.stderr
    print(shown.stdout)
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"trace {TRACE_ID}: 3 spans from 2 nodes in 2 countries (NO, SE)")
    assert lines[2].startswith("* [SE gw-1] server test.v1.Echo/Ping  OK")
    assert lines[2].endswith("(parent not collected)")  # the portal's span
    assert "* [SE gw-1] client test.v1.Echo/Ping -> NO no-oslo-1  OK" in lines[3]
    assert "* [NO no-oslo-1] server test.v1.Echo/Ping  OK" in lines[4]

    as_json = run_cli(TRACE_ID, "--jsonl", str(gateway_file), str(node_file), "--json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    (root,) = data["roots"]
    assert data["trace_id"] == TRACE_ID
    assert len(data["slowest_path"]) == 3
    assert root["node_id"] == "gw-1"
    assert root["children"][0]["children"][0]["node_id"] == "no-oslo-1"


def test_unknown_trace_and_bad_input(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    missing = run_cli("1" * 32, "--jsonl", str(empty))
    assert missing.returncode == 1
    assert "no spans of trace" in missing.stderr
    bad = run_cli("xyz", "--jsonl", str(empty))
    assert bad.returncode == 1
    assert "'xyz' is not a trace id" in bad.stderr
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text('{"trace_id": 7}\nnot json\n')
    broken = run_cli("1" * 32, "--jsonl", str(garbled))
    assert broken.returncode == 1
    assert f"{garbled}:1" in broken.stderr
