"""The Compose mesh's own commands, config files and volumes, run outside a container.

See :mod:`tests.deploy.compose_world` for how a container is stood in for. Each profile
(tier) is brought up in the Compose order: the PKI init job, the index builds, the nodes,
the gateway; then the gateway answers a lookup over mTLS with every country, every
service passed its own HEALTHCHECK, and nothing was written outside the volumes.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mesh.config import TlsConfig
from mesh.plumbing.channels import open_channel
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.deploy.compose_world import World, compose, running_profile, unshare_works
from tests.deploy.monitoring import family, referenced_families
from tests.deploy.tools import tool
from tests.shared_files import in_ci

pytestmark = pytest.mark.slow

#: The sample variant every demo country holds (chr1:55051215 G>GA).
VARIANT = "chr1:55051215:G:GA"


@pytest.fixture(autouse=True)
def _sandbox() -> None:
    tool("unshare")
    if not unshare_works():
        message = "needs a private mount namespace (unshare --mount as root) for read-only runs"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def https_get(world: World, gateway: str, path: str, client: str) -> bytes:
    pki = world.root / "volumes" / ("pki" if gateway == "gateway" else "staging-pki")
    context = ssl.create_default_context(cafile=str(pki / "root-ca.crt"))
    context.load_cert_chain(str(pki / f"{client}.crt"), str(pki / f"{client}.key"))
    url = f"https://127.0.0.1:{world.port(gateway, 8443)}{path}"
    with urllib.request.urlopen(url, timeout=20, context=context) as reply:
        return bytes(reply.read())


def refused_lookup(world: World, gateway: str) -> None:
    """A lookup the gateway's gRPC port refuses with INVALID_ARGUMENT."""
    pki = world.root / "volumes" / ("pki" if gateway == "gateway" else "staging-pki")
    tls = TlsConfig(
        ca=(pki / "root-ca.crt",), cert=pki / "prometheus.crt", key=pki / "prometheus.key"
    )
    request = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(chromosome="99", position=1, reference_bases="A",
                                   alternate_bases="G")
    )  # fmt: skip
    with open_channel(f"127.0.0.1:{world.port(gateway, 50050)}", tls) as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            stub.LookupVariant(request, timeout=20)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def scraped_families(world: World, gateway: str, nodes: list[str]) -> set[str]:
    """Metric families the gateway's /metrics and the nodes' [metrics] ports export."""
    texts = [https_get(world, gateway, "/metrics", "prometheus").decode()]
    for node in nodes:
        url = f"http://127.0.0.1:{world.port(node, 9464)}/metrics"
        with urllib.request.urlopen(url, timeout=20) as reply:
            texts.append(reply.read().decode())
    return {family(f.name) for text in texts for f in text_string_to_metric_families(text)}


@pytest.mark.parametrize(
    ("profile", "gateway", "countries"),
    [("production", "gateway", {"NO", "FI", "LU"}), ("staging", "staging-gateway", {"NO"})],
)
def test_profile_runs_read_only_and_answers(
    tmp_path: Path, profile: str, gateway: str, countries: set[str]
) -> None:
    with running_profile(tmp_path, profile) as (world, order):
        assert gateway in order
        body = json.loads(https_get(world, gateway, f"/v1/variants/{VARIANT}", "prometheus"))
        outcomes = {o["country"]: o for o in body["outcomes"]}
        assert set(outcomes) == countries
        for outcome in outcomes.values():
            assert outcome["status"]["code_name"] == "OK", outcome
        assert {f["country"] for f in body["frequencies"]} == countries
        # Every long-running service still passes its HEALTHCHECK.
        for name in order:
            if "healthcheck" in world.services[name]:
                assert world.healthcheck(name).returncode == 0, name
        # The audit log went to the logs volume, where the image says logs go.
        node = next(n for n in order if "node-no" in n)
        logs_volume = next(m for m in world.mounts(node) if m.target == "/var/log/allelemesh")
        assert (logs_volume.source / "audit.jsonl").stat().st_size > 0
        # What the alerts and the dashboard query is what these processes export (an
        # error served first, so that the error counters exist).
        refused_lookup(world, gateway)
        nodes = [n for n in order if "node-" in n and "build" not in n]
        missing = referenced_families() - scraped_families(world, gateway, nodes)
        assert not missing, f"alerts/dashboard use metrics nobody exports: {missing}"


def test_a_write_outside_the_volumes_fails(tmp_path: Path) -> None:
    """The sandbox is real: the same wrapper refuses a write to the read-only root."""
    world = World(tmp_path, compose()["services"])
    outside = tmp_path / "outside.txt"
    argv = world.command("node-no", ["sh", "-c", f"echo x > {outside}"])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr
    assert not outside.exists()
    inside = next(m.source for m in world.mounts("node-no") if m.target == "/var/log/allelemesh")
    argv = world.command("node-no", ["sh", "-c", f"echo x > {inside}/ok.txt"])
    assert subprocess.run(argv, timeout=30, check=False).returncode == 0
