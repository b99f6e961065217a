"""The metric names that the alerts and the Grafana dashboard rely on."""

from __future__ import annotations

import json
import re

import yaml

from tests.deploy.tools import DEPLOY

ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
DASHBOARD = DEPLOY / "grafana" / "allelemesh-dashboard.json"
#: Series that come from Prometheus itself or from a feature not exported yet.
NOT_FROM_ALLELEMESH = {"up", "mesh_check_status"}
#: Label matchers, groupings, ranges and strings: nothing in them names a metric.
_NOT_NAMES = re.compile(r'\{[^}]*\}|\b(?:by|without|on|ignoring)\s*\([^)]*\)|\[[^\]]*\]|"[^"]*"')
#: An identifier that is not a function call.
_NAME = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_SUFFIX = re.compile(r"_(bucket|sum|count|total)$")


def family(name: str) -> str:
    """A series name's metric family (``x_seconds_bucket`` -> ``x_seconds``)."""
    return _SUFFIX.sub("", name)


def expressions() -> list[str]:
    """Every PromQL expression in the alerts and the dashboard."""
    rules = yaml.safe_load(ALERTS.read_text())
    found = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads(DASHBOARD.read_text())
    found += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return found


def referenced_families() -> set[str]:
    """The metric families the expressions select (functions and keywords excluded)."""
    names = {family(n) for expr in expressions() for n in _NAME.findall(_NOT_NAMES.sub(" ", expr))}
    keywords = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
    return names - keywords - NOT_FROM_ALLELEMESH
