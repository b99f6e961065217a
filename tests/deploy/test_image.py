"""The container image: hadolint-clean, non-root, read-only, probed through gRPC health.

No Docker daemon runs here, so the image is not built; these tests read the Dockerfile as
Docker would (instructions per stage) and check what the image promises. The commands it
runs are exercised for real, outside a container, by tests/deploy/test_compose_run.py.
"""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from tests.deploy.tools import DEPLOY, REPO, run_tool, tool

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, ``(INSTRUCTION, arguments)``, grouped by stage."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found: list[list[tuple[str, str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        if instruction.upper() == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction.upper(), rest.strip()))
    return found


def final() -> list[tuple[str, str]]:
    return stages()[-1]


def test_hadolint_finds_nothing() -> None:
    result = run_tool(tool("hadolint"), str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def _preamble() -> dict[str, str]:
    """The global ``ARG name=default`` lines before the first FROM."""
    defaults = {}
    for raw in re.sub(r"\\\n", " ", DOCKERFILE.read_text()).splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM"):
            break
        if line.upper().startswith("ARG ") and "=" in line:
            name, _, value = line[4:].strip().partition("=")
            defaults[name] = value
    return defaults


def test_multi_stage_on_a_pinned_slim_base() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2, "wheels are built in a stage of their own"
    base = _preamble()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base  # a full version, slim
    assert [stage[0][1].split()[0] for stage in all_stages] == ["${PYTHON_IMAGE}"] * len(all_stages)


def test_final_stage_runs_non_root_without_compilers() -> None:
    instructions = final()
    users = [rest for i, rest in instructions if i == "USER"]
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in ("0", "root"), users
    runs = " ".join(rest for i, rest in instructions if i == "RUN")
    for compiler in ("gcc", "g++", "build-essential", "clang", "make "):
        assert compiler not in runs, f"{compiler} in the run stage"
    assert "--no-index" in runs, "the run stage installs only the wheels built before"


def test_healthcheck_stopsignal_entrypoint_and_volumes() -> None:
    instructions = dict(final())
    health = instructions["HEALTHCHECK"]
    command = json.loads(health[health.index("CMD") + 3 :].strip())
    assert command[:2] == ["allelemesh", "health"]
    assert instructions["STOPSIGNAL"] == "SIGTERM"
    assert json.loads(instructions["ENTRYPOINT"]) == ["allelemesh"]
    volumes = json.loads(instructions["VOLUME"])
    assert set(volumes) == {"/var/lib/allelemesh", "/var/log/allelemesh"}


def test_oci_labels_carry_the_package_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    instructions = final()
    args = dict(rest.split("=", 1) for i, rest in instructions if i == "ARG" and "=" in rest)
    assert args["VERSION"] == version, "bump ARG VERSION with pyproject.toml's version"
    labels = " ".join(rest for i, rest in instructions if i == "LABEL")
    for key in ("title", "version", "source", "licenses"):
        assert f"org.opencontainers.image.{key}=" in labels


@pytest.mark.parametrize("excluded", ["tests", ".git", ".venv", "demo-run", "bench"])
def test_dockerignore_keeps_the_context_to_the_packages(excluded: str) -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "ignore everything, then allow what the image needs"
    assert f"!{excluded}" not in rules
    assert f"!{excluded}/" not in rules
    copied = {rest.split()[0] for i, rest in stages()[0] if i == "COPY"}
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert copied <= allowed, f"COPY of files .dockerignore leaves out: {copied - allowed}"
