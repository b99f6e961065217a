"""The systemd units: ``systemd-analyze verify`` clean, hardened, reloading on SIGHUP."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path

import pytest

from tests.deploy.tools import DEPLOY, run_tool, tool

UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/allelemesh/bin/allelemesh"
SERVICES = (
    "allelemesh-node.service",
    "allelemesh-gateway.service",
    "allelemesh-index-build@.service",
)


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(UNITS / name)
    return parser


def installed_copies(tmp_path: Path) -> list[Path]:
    """The units as installed: ExecStart pointing at a real allelemesh, templates instanced."""
    executable = Path(sys.executable).parent / "allelemesh"
    if not executable.exists():
        pytest.skip(f"no {executable}: run from the project's venv")
    copies = []
    for source in sorted(UNITS.iterdir()):
        name = source.name.replace("@.", "@demo.")
        copy = tmp_path / name
        copy.write_text(source.read_text().replace(INSTALLED, str(executable)))
        copies.append(copy)
    return copies


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    copies = installed_copies(tmp_path)
    result = run_tool(tool("systemd-analyze"), "verify", *map(str, copies))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_verify_would_catch_a_misspelt_directive(tmp_path: Path) -> None:
    copies = installed_copies(tmp_path)
    node = next(c for c in copies if c.name == "allelemesh-node.service")
    node.write_text(node.read_text().replace("ProtectSystem=", "ProtectSytem="))
    result = run_tool(tool("systemd-analyze"), "verify", str(node))
    assert "Unknown key 'ProtectSytem'" in result.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_services_are_hardened(name: str) -> None:
    service = unit(name)["Service"]
    assert service["User"] == "allelemesh"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "true"
    assert service["PrivateTmp"] == "true"
    assert service["CapabilityBoundingSet"] == ""
    assert "/var/lib/allelemesh" in service["ReadWritePaths"].split()
    assert service["ExecStart"].startswith(INSTALLED)


@pytest.mark.parametrize("name", SERVICES[:2])
def test_servers_restart_on_failure_but_not_on_a_config_error(name: str) -> None:
    service = unit(name)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # allelemesh's exit code for bad config
    assert service["Type"] == "exec"


def test_the_node_reloads_indexes_on_sighup() -> None:
    assert unit("allelemesh-node.service")["Service"]["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_the_rebuild_timer_starts_the_build_of_its_instance() -> None:
    timer = unit("allelemesh-index-build@.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    build = unit("allelemesh-index-build@.service")["Service"]
    assert "--dataset %i" in build["ExecStart"]
    assert "--out /var/lib/allelemesh/indexes/%i" in build["ExecStart"]
