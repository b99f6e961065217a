"""``allelemesh mesh check`` against a real mesh of node processes on mTLS, one fault per peer.

Every fault is injected for real (a stopped process, certificates that expire in 5 days or
have expired, a wrong identity, a staging node, an older ``mesh.v1``, an empty catalogue,
a proxy that alters counts); ``mesh check`` names each in its table and its JSON, the
healthy peers stay ``ok``, and the gateway's continuous check exports the same results.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesh.config import TlsConfig
from mesh.plumbing.channels import open_channel
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.mesh.check.check_world import (
    Peer,
    Process,
    altering_proxy,
    json_checks,
    launch,
    older_contract_server,
    run_mesh_check,
    tls_table,
    wait_healthy,
    write_node_config,
)
from tests.mesh.security.attack_helpers import dataset, outcome_reason
from tests.mesh_harness import free_port, node_process
from tests.pki_factory import TestPki

PROD_TD = "prod.allelemesh.example"
HEALTHY = ("no-ok", "fi-ok")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("check")
    prod = TestPki.create(root / "prod", PROD_TD, countries=("NO", "FI"))
    staging = TestPki.create(root / "staging", "staging.allelemesh.example", tier="staging")
    both = (prod.root_cert, staging.root_cert)  # the gateway's bundle lists both, by mistake
    gw_tls = prod.tls(prod.leaf("NO", "gateway", "gw", days=90), *both)
    operator = prod.tls(prod.leaf("NO", "operator", "op", days=90), *both)

    def node_tls(pki: TestPki, cc: str, name: str, days: int = 90) -> TlsConfig:
        return pki.tls(pki.leaf(cc, "node", name, days=days), *both)

    plan: dict[str, tuple[str, TlsConfig, bool, str]] = {
        # peer id: (country, tls, has a dataset, tier)
        "no-ok": ("NO", node_tls(prod, "NO", "no-ok"), True, "production"),
        "fi-ok": ("FI", node_tls(prod, "FI", "fi-ok"), True, "production"),
        "de-stopped": ("DE", node_tls(prod, "DE", "de-stopped"), True, "production"),
        "se-soon": ("SE", node_tls(prod, "SE", "se-soon", days=5), True, "production"),
        "dk-expired": ("DK", node_tls(prod, "DK", "dk-expired"), True, "production"),
        "ee-wrong": ("EE", node_tls(prod, "EE", "ee-tartu"), True, "production"),
        "lv-staging": ("LV", node_tls(staging, "LV", "lv-staging"), True, "staging"),
        "pl-empty": ("PL", node_tls(prod, "PL", "pl-empty"), False, "production"),
        "cz-real": ("CZ", node_tls(prod, "CZ", "cz-real"), True, "production"),
    }
    processes: dict[str, Process] = {}
    ports = {name: free_port() for name in plan}
    with contextlib.ExitStack() as stack:
        for number, (name, (cc, tls, has_data, tier)) in enumerate(plan.items()):
            datasets = []
            if has_data:
                ds = f"{name}-ds"
                datasets = [(ds, dataset(root / "data", ds, 10 + number))]
            config = write_node_config(
                root / f"{name}.toml", name, cc, ports[name], tls, datasets, tier
            )
            processes[name] = launch("node", config, ports[name])
            stack.callback(processes[name].stop)
        for name, process in processes.items():
            wait_healthy(process, plan[name][1])
        processes["de-stopped"].stop()  # a peer that was running and is now gone
        prod.leaf("DK", "node", "dk-expired", expired=True, force=True)  # rotated in: dead cert
        old = stack.enter_context(older_contract_server(node_tls(prod, "LT", "lt-old")))
        proxy = stack.enter_context(
            altering_proxy(node_tls(prod, "CZ", "cz-sidecar"), ports["cz-real"])
        )
        peers = [Peer(name, plan[name][0], ports[name]) for name in plan if name != "cz-real"]
        peers[
            [p.id for p in peers].index("ee-wrong")
        ].identity = f"spiffe://{PROD_TD}/country/EE/node/ee-tallinn"
        peers += [Peer("lt-old", "LT", old), Peer("cz-proxy", "CZ", proxy)]
        gw_port, http_port = free_port(), free_port()
        gateway_toml = root / "gateway.toml"
        gateway_toml.write_text(
            f'[gateway]\nid = "gw"\ncountry = "NO"\nlisten = "127.0.0.1:{gw_port}"\n'
            f'http_listen = "127.0.0.1:{http_port}"\ntier = "production"\ntimeout_ms = 3000\n'
            f"mesh_check_interval_s = 2\n\n{tls_table(gw_tls)}\n"
            + "\n".join(p.toml() for p in peers)
        )
        gateway = launch("gateway", gateway_toml, gw_port)
        stack.callback(gateway.stop)
        wait_healthy(gateway, operator)
        yield {
            "config": gateway_toml,
            "gateway": gateway,
            "http_port": http_port,
            "operator": operator,
        }


@pytest.fixture(scope="module")
def checked(world: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, Any]]:
    code, output, _ = run_mesh_check(world["config"], "--json")
    report, by_peer = json_checks(output)
    return code, report, by_peer


def test_json_names_every_fault(checked: tuple[int, dict[str, Any], dict[str, Any]]) -> None:
    code, report, peers = checked
    assert code == 1
    assert report["ok"] is False
    assert report["tier"] == "production"
    assert set(report["peers"][0]) == {"id", "country", "address", "checks"}
    names = [c["name"] for c in report["peers"][0]["checks"]]
    assert names == ["reachable", "tls", "identity", "certificate", "tier", "health",
                     "contract", "catalogue", "canary", "latency"]  # fmt: skip

    def status(peer: str, check: str) -> str:
        return str(peers[peer][check]["status"])

    def detail(peer: str, check: str) -> str:
        return str(peers[peer][check]["detail"])

    for healthy in HEALTHY:
        assert {c: v["status"] for c, v in peers[healthy].items()} == dict.fromkeys(names, "ok")
    assert "agree" in detail("no-ok", "canary")
    assert status("de-stopped", "reachable") == "fail"
    assert {status("de-stopped", c) for c in names[1:]} == {"skip"}
    assert status("se-soon", "certificate") == "warn"
    assert re.search(r"expires in [45] days", detail("se-soon", "certificate"))
    assert status("se-soon", "canary") == "ok"
    assert status("dk-expired", "tls") == "fail"
    assert status("dk-expired", "certificate") == "fail"
    assert "expired on" in detail("dk-expired", "certificate")
    assert status("ee-wrong", "identity") == "fail"
    assert "ee-tartu" in detail("ee-wrong", "identity")
    assert "ee-tallinn" in detail("ee-wrong", "identity")
    assert status("lv-staging", "tier") == "fail"
    assert "'staging'" in detail("lv-staging", "tier")
    assert "'production'" in detail("lv-staging", "tier")
    assert status("lv-staging", "health") == "skip"  # never asked anything
    assert status("lt-old", "contract") == "fail"
    assert "SearchRegion is missing" in detail("lt-old", "contract")
    assert "VariantFrequency.filters" in detail("lt-old", "contract")
    assert status("lt-old", "health") == "ok"
    assert status("pl-empty", "catalogue") == "fail"
    assert "no dataset" in detail("pl-empty", "catalogue")
    assert status("cz-proxy", "canary") == "fail"
    assert "1-2000-C-T" in detail("cz-proxy", "canary")
    assert "AF" in detail("cz-proxy", "canary")
    assert status("cz-proxy", "catalogue") == "ok"


def test_table_and_summary(world: dict[str, Any]) -> None:
    code, output, _ = run_mesh_check(world["config"])
    assert code == 1
    for peer in (*HEALTHY, "de-stopped", "lv-staging", "cz-proxy", "lt-old"):
        assert peer in output
    assert re.search(r"fail lv-staging \S+ tier: peer lv-staging is in tier 'staging'", output)
    assert re.search(r"fail cz-proxy \S+ canary: 1-2000-C-T", output)
    assert re.search(r"warn se-soon \S+ certificate", output)
    assert re.search(r"mesh check \(tier production\): 10 peer addresses: .*: FAILED", output)


def test_the_mesh_itself_refuses_the_staging_peer(world: dict[str, Any]) -> None:
    gateway: Process = world["gateway"]
    with open_channel(f"127.0.0.1:{gateway.port}", world["operator"]) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        answer = stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(
                variant=allele_pb2.Variant(
                    chromosome="1", position=2000, reference_bases="C", alternate_bases="T"
                )
            ),
            timeout=10,
        )
    [staging] = [o for o in answer.outcomes if o.node_id == "lv-staging"]
    assert outcome_reason(staging) == "TIER_MISMATCH"
    assert "'staging'" in staging.status.message
    assert "'production'" in staging.status.message
    assert "lv-staging-ds" not in {f.dataset_id for f in answer.frequencies}
    assert {"no-ok-ds", "fi-ok-ds"} <= {f.dataset_id for f in answer.frequencies}


def _metrics(world: dict[str, Any]) -> str:
    tls: TlsConfig = world["operator"]
    context = ssl.create_default_context(cafile=str(tls.ca[0]))
    for extra in tls.ca[1:]:
        context.load_verify_locations(cafile=str(extra))
    context.load_cert_chain(tls.cert, tls.key)
    url = f"https://127.0.0.1:{world['http_port']}/metrics"
    with urllib.request.urlopen(url, context=context, timeout=10) as response:
        return str(response.read().decode())


def _value(text: str, peer: str, check: str) -> float | None:
    match = re.search(
        rf'^mesh_check_status\{{[^}}]*peer="{peer}"[^}}]*check="{check}"[^}}]*\}} (\S+)$',
        text,
        re.MULTILINE,
    )
    if match is None:
        match = re.search(
            rf'^mesh_check_status\{{[^}}]*check="{check}"[^}}]*peer="{peer}"[^}}]*\}} (\S+)$',
            text,
            re.MULTILINE,
        )
    return None if match is None else float(match.group(1))


def test_gateway_continuous_check_exports_the_same(world: dict[str, Any]) -> None:
    deadline = time.monotonic() + 60
    text = ""
    while time.monotonic() < deadline:
        text = _metrics(world)
        if _value(text, "cz-proxy", "canary") is not None:
            break
        time.sleep(1)
    for healthy in HEALTHY:
        for check in ("reachable", "tls", "identity", "tier", "contract", "canary", "catalogue"):
            assert _value(text, healthy, check) == 1.0, (healthy, check)
    assert _value(text, "de-stopped", "reachable") == 0.0
    assert _value(text, "de-stopped", "tls") is None  # skip is not exported
    assert _value(text, "se-soon", "certificate") == 0.5
    assert _value(text, "dk-expired", "certificate") == 0.0
    assert _value(text, "ee-wrong", "identity") == 0.0
    assert _value(text, "lv-staging", "tier") == 0.0
    assert _value(text, "lt-old", "contract") == 0.0
    assert _value(text, "pl-empty", "catalogue") == 0.0
    assert _value(text, "cz-proxy", "canary") == 0.0
    expired = re.search(
        r'^mesh_check_certificate_expiry_seconds\{[^}]*peer="dk-expired"[^}]*\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert expired is not None
    assert float(expired.group(1)) < 0
    assert 'allelemesh_tier_info{process="allelemesh-gateway",tier="production"} 1.0' in text


def test_plaintext_mesh_skips_certificate_checks(tmp_path: Path) -> None:
    index = dataset(tmp_path, "plain-ds", 5)
    with node_process([index], "no-plain", "NO") as node:
        config = tmp_path / "node.toml"
        config.write_text(
            f'[node]\nid = "me"\ncountry = "FI"\nlisten = "127.0.0.1:{free_port()}"\n\n'
            f'[[peers]]\nid = "no-plain"\ncountry = "NO"\naddress = "{node.address}"\n'
        )
        code, output, _ = run_mesh_check(config, "--json", "--insecure", "--canary", "1-2000-C-T")
    assert code == 0, output
    _, peers = json_checks(output)
    checks = peers["no-plain"]
    for name in ("tls", "identity", "certificate", "tier"):
        assert checks[name]["status"] == "skip"
    for name in ("reachable", "health", "contract", "catalogue", "canary", "latency"):
        assert checks[name]["status"] == "ok", (name, checks[name])
    assert "mesh not compared" in checks["canary"]["detail"]  # our own process is not running


def test_replicas_duplicate_ids_and_latency_threshold(tmp_path: Path) -> None:
    """Every address of a replicated peer is checked; a dataset id listed by two peers fails
    both catalogues; a latency threshold below any p50 warns (exit 0: warnings allowed)."""
    index = dataset(tmp_path, "same-ds", 5)
    with (
        node_process([index], "no-a", "NO") as first,
        node_process([index], "no-b", "NO") as replica,
        node_process([dataset(tmp_path / "se", "same-ds", 9)], "se-1", "SE") as other,
    ):
        config = tmp_path / "node.toml"
        config.write_text(
            f'[node]\nid = "me"\ncountry = "FI"\nlisten = "127.0.0.1:{free_port()}"\n\n'
            f'[[peers]]\nid = "no"\ncountry = "NO"\n'
            f'addresses = ["{first.address}", "{replica.address}"]\n\n'
            f'[[peers]]\nid = "se"\ncountry = "SE"\naddress = "{other.address}"\n'
        )
        code, output, _ = run_mesh_check(config, "--json", "--insecure")
        assert code == 1, output
        report, _ = json_checks(output)
        addresses = {(p["id"], p["address"]) for p in report["peers"]}
        assert addresses == {("no", first.address), ("no", replica.address), ("se", other.address)}
        for peer in report["peers"]:
            [catalogue] = [c for c in peer["checks"] if c["name"] == "catalogue"]
            assert catalogue["status"] == "fail", peer
            assert "same-ds (also listed by " in catalogue["detail"]
        unique = tmp_path / "unique.toml"
        unique.write_text(config.read_text().split('\n\n[[peers]]\nid = "se"')[0] + "\n")
        code, output, _ = run_mesh_check(unique, "--json", "--insecure", "--latency-warn-ms", "0")
    assert code == 0, output  # replicas of one peer share their ids; a warning is no failure
    report, _ = json_checks(output)
    for peer in report["peers"]:
        statuses = {c["name"]: c["status"] for c in peer["checks"]}
        assert statuses["catalogue"] == "ok"
        assert statuses["latency"] == "warn"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    code, _, output = run_mesh_check(tmp_path / "missing.toml")
    assert code == 2
    assert "no such configuration file" in output
    config = tmp_path / "node.toml"
    config.write_text('[node]\nid = "me"\ncountry = "FI"\nlisten = "127.0.0.1:1"\n')
    code, _, output = run_mesh_check(config)  # no [tls] and no --insecure
    assert code == 2
    assert "--insecure" in output
