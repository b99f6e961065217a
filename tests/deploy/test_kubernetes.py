"""Kustomize base and overlays: rendered by kubectl's kustomize, validated strictly.

Built-in kinds are validated by kubernetes-validate (``--strict``: no unknown fields);
the CRDs (cert-manager, Prometheus Operator) are checked here for what allelemesh needs.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from mesh.security.identity import SpiffeId
from tests.deploy.tools import DEPLOY, run_tool, tool

OVERLAYS = ("staging", "production")
CRDS = {("cert-manager.io/v1", "Certificate"), ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule")}  # fmt: skip
WORKLOADS = ("Deployment", "StatefulSet", "Job")


@functools.cache
def rendered(overlay: str) -> list[dict]:
    """The overlay as ``kubectl kustomize`` renders it."""
    result = run_tool(tool("kubectl"), "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def objects(overlay: str, kind: str | None = None) -> list[dict]:
    return [d for d in rendered(overlay) if kind is None or d["kind"] == kind]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_built_in_kinds_validate_strictly(overlay: str, tmp_path: Path) -> None:
    docs = rendered(overlay)
    built_in = [d for d in docs if (d["apiVersion"], d["kind"]) not in CRDS]
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(yaml.safe_dump_all(built_in))
    result = run_tool(tool("kubernetes-validate"), "--strict", "--quiet", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert {d["kind"] for d in built_in} >= {"Deployment", "Service", "PodDisruptionBudget",
        "NetworkPolicy", "PersistentVolumeClaim", "Job", "ConfigMap"}  # fmt: skip
    assert {(d["apiVersion"], d["kind"]) for d in docs} - {
        (d["apiVersion"], d["kind"]) for d in built_in
    } == CRDS


def test_strict_validation_would_catch_a_typo(tmp_path: Path) -> None:
    docs = rendered("production")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesytem"] = True
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(deployment))
    result = run_tool(tool("kubernetes-validate"), "--strict", "--quiet", str(path))
    assert result.returncode != 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_locked_down_and_probed(overlay: str) -> None:
    workloads = [d for d in objects(overlay) if d["kind"] in WORKLOADS]
    assert workloads
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]["memory"]
            assert container["resources"]["limits"]["memory"]
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, "the read-only root needs a writable /tmp"
            if workload["kind"] != "Job":
                # The kubelet's own gRPC probe is plaintext; every port here is mTLS.
                probe = ["allelemesh", "health", "--config", "/etc/allelemesh/allelemesh.toml"]
                assert container["readinessProbe"]["exec"]["command"] == probe
                assert container["livenessProbe"]["exec"]["command"] == probe
                assert container["args"][-2:] == ["--config", probe[-1]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tiers_are_apart(overlay: str) -> None:
    docs = objects(overlay)
    assert {d["metadata"].get("namespace") for d in docs} == {f"allelemesh-{overlay}"}
    for doc in docs:
        assert doc["metadata"]["labels"]["allelemesh.example/tier"] == overlay
    trust_domains = {
        SpiffeId.parse(uri).trust_domain
        for cert in objects(overlay, "Certificate")
        for uri in cert["spec"]["uris"]
    }
    expected = "staging.allelemesh.example" if overlay == "staging" else "allelemesh.example"
    assert trust_domains == {expected}
    gateway = next(
        d for d in objects(overlay, "Deployment") if d["metadata"]["name"].endswith("gateway")
    )
    assert gateway["spec"]["replicas"] == (1 if overlay == "staging" else 3)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configs_name_the_certificates_identities(overlay: str) -> None:
    """The identity a gateway expects of its peer is the one cert-manager issues it."""
    import tomllib

    maps = {c["metadata"]["name"].rsplit("-", 1)[0]: c for c in objects(overlay, "ConfigMap")}
    gateway = tomllib.loads(maps["allelemesh-gateway-config"]["data"]["allelemesh.toml"])
    node_cert = next(
        c for c in objects(overlay, "Certificate") if c["metadata"]["name"] == "allelemesh-node"
    )
    assert [p["identity"] for p in gateway["peers"]] == node_cert["spec"]["uris"]
    node = tomllib.loads(maps["allelemesh-node-config"]["data"]["allelemesh.toml"])
    node_id = SpiffeId.parse(node_cert["spec"]["uris"][0])
    assert (node_id.country, node_id.name) == (node["node"]["country"], node["node"]["id"])


def test_network_policy_lets_only_the_gateway_peers_and_prometheus_reach_nodes() -> None:
    policy = next(
        p for p in objects("production", "NetworkPolicy")
        if p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "allelemesh-node"
    )  # fmt: skip
    grpc_rule, metrics_rule = policy["spec"]["ingress"]
    assert grpc_rule["ports"] == [{"protocol": "TCP", "port": 50051}]
    sources = grpc_rule["from"]
    assert sources[0] == {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "allelemesh-gateway"}}
    }
    assert sources[1]["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "node"}}
    assert metrics_rule["ports"] == [{"protocol": "TCP", "port": 9464}]


def test_prometheus_rule_is_the_alerts_file() -> None:
    (rule,) = objects("production", "PrometheusRule")
    alerts = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"] == alerts, "edit deploy/prometheus/alerts.yaml and monitoring.yaml together"


def test_rebuild_job_writes_beside_the_served_index() -> None:
    (job,) = objects("production", "Job")
    (node,) = [
        d for d in objects("production", "Deployment") if d["metadata"]["name"] == "allelemesh-node"
    ]
    job_pod, node_pod = job["spec"]["template"]["spec"], node["spec"]["template"]["spec"]
    claim = {
        v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in job_pod["volumes"]
    }
    served = {
        v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in node_pod["volumes"]
    }
    assert claim["indexes"] == served["indexes"] == "allelemesh-indexes"
    args = job_pod["containers"][0]["args"]
    assert args[:2] == ["index", "build"]
    out = args[args.index("--out") + 1]
    node_config = next(
        c for c in objects("production", "ConfigMap") if "node-config" in c["metadata"]["name"]
    )
    assert f'index = "{out}"' in node_config["data"]["allelemesh.toml"]
