"""The Compose file: valid by the Compose specification, locked down, one published port.

Validated against the Compose specification's JSON schema as check-jsonschema ships it
(``vendor.compose-spec``); the services' commands run for real in test_compose_run.py.
"""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from tests.deploy.compose_world import compose
from tests.deploy.tools import DEPLOY

ALLELEMESH = {n: s for n, s in compose()["services"].items() if s["image"].startswith("allelemesh")}


def test_valid_by_the_compose_specification() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    jsonschema.validate(compose(), schema)


def test_an_invalid_file_would_be_caught() -> None:
    """The schema check can fail: a misspelt key is refused."""
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    broken = compose()
    broken["services"]["gateway"]["read_onyl"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize("name", sorted(ALLELEMESH))
def test_every_allelemesh_service_is_locked_down(name: str) -> None:
    service = ALLELEMESH[name]
    assert service["read_only"] is True
    assert service["user"] == "10001:10001"
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert "/tmp" in service["tmpfs"]


def test_only_the_gateways_publish_ports() -> None:
    published = {n for n, s in compose()["services"].items() if s.get("ports")}
    assert published == {"gateway", "staging-gateway"}


def test_two_tiers_with_separate_pki_and_volumes() -> None:
    services = compose()["services"]
    for name, service in ALLELEMESH.items():
        (tier,) = service["profiles"]
        volumes = [v.split(":")[0] for v in service.get("volumes", [])]
        named = [v for v in volumes if not v.startswith(".")]
        # A staging service never mounts a production volume, and the other way round.
        assert all(v.startswith("staging-") == (tier == "staging") for v in named), name
    trust = {
        tier: next(
            line.split("--trust-domain")[1].split()[0]
            for line in services[init]["command"][0].splitlines()
            if "--trust-domain" in line
        )
        for tier, init in (("production", "pki-init"), ("staging", "staging-pki-init"))
    }
    assert trust["production"] != trust["staging"]


def test_prometheus_scrapes_every_metrics_port() -> None:
    import yaml

    scrape = yaml.safe_load((DEPLOY / "compose" / "config" / "prometheus.yml").read_text())
    targets = {
        t
        for job in scrape["scrape_configs"]
        for group in job["static_configs"]
        for t in group["targets"]
    }
    nodes = {n for n in ALLELEMESH if "node-" in n and "build" not in n}
    gateways = {n for n in ALLELEMESH if n.endswith("gateway")}
    assert targets == {f"{n}:9464" for n in nodes} | {f"{g}:8443" for g in gateways}
