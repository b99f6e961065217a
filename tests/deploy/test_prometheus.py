"""Alerts checked and unit-tested by promtool; the dashboard is valid Grafana JSON.

That every metric they use is really exported is checked against live processes in
tests/deploy/test_compose_run.py.
"""

from __future__ import annotations

import json

from tests.deploy.monitoring import ALERTS, DASHBOARD, referenced_families
from tests.deploy.tools import run_tool, tool


def test_promtool_checks_the_rules() -> None:
    result = run_tool(tool("promtool"), "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_unit_tests_every_alert() -> None:
    tests = ALERTS.with_name("alerts.test.yaml")
    result = run_tool(tool("promtool"), "test", "rules", tests.name, cwd=tests.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    import yaml

    alerts = {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    fired = {
        t["alertname"]
        for case in yaml.safe_load(tests.read_text())["tests"]
        for t in case["alert_rule_test"]
        if t["exp_alerts"]
    }
    assert fired == alerts, f"alerts with no firing test: {alerts - fired}"


def test_dashboard_panels_query_prometheus() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "allelemesh-mesh"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]


def test_the_expressions_name_allelemesh_metrics() -> None:
    families = referenced_families()
    assert "mesh_peer_requests" in families
    assert "allelemesh_certificate_expiring_soon" in families
    assert all(f.startswith(("mesh_", "allelemesh_")) or f == "up" for f in families), families
