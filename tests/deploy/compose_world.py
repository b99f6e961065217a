"""The Compose services, run for real outside a container, on a read-only root.

No Docker daemon runs here. What a container would add is reproduced for each service:

* its **volumes** become folders under a temporary root (named volumes) or the repo's
  files (bind mounts), and every container path in its command and in its config file is
  re-rooted onto them;
* its **read-only root filesystem** becomes a private mount namespace (``unshare``) in
  which ``/`` is remounted read-only and only the service's writable volumes and its
  ``/tmp`` tmpfs are writable: a process that writes anywhere else fails;
* its **network** becomes loopback: each ``service:port`` gets a free ``127.0.0.1`` port.

The commands, entrypoints and config files are the Compose file's own, read from it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.tools import DEPLOY, REPO
from tests.mesh_harness import free_port

COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
#: Ports the allelemesh services listen on inside their containers.
CONTAINER_PORTS = (50050, 50051, 8443, 9464)
#: The image's ENTRYPOINT.
IMAGE_ENTRYPOINT = ["allelemesh"]


def compose() -> dict[str, Any]:
    """The Compose file as Compose reads it (YAML anchors and merge keys resolved)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def unescape(value: str) -> str:
    """Compose's interpolation of a literal: ``$$`` is one ``$``."""
    return value.replace("$$", "$")


@dataclass
class Mount:
    """One volume of a service: where it is in the container and on this machine."""

    target: str
    source: Path
    read_only: bool


@dataclass
class World:
    """The temporary root, the loopback ports, and the processes started."""

    root: Path
    services: dict[str, Any]
    ports: dict[tuple[str, int], int] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def port(self, service: str, container_port: int) -> int:
        """The loopback port standing for ``service:container_port``."""
        key = (service, container_port)
        if key not in self.ports:
            self.ports[key] = free_port()
        return self.ports[key]

    def mounts(self, name: str) -> list[Mount]:
        """The service's volumes, longest container path first (for re-rooting)."""
        found = []
        for spec in self.services[name].get("volumes", []):
            source, target, *mode = spec.split(":")
            if source.startswith((".", "/")):
                host = (COMPOSE_DIR / source).resolve()
            else:
                host = self.root / "volumes" / source
                host.mkdir(parents=True, exist_ok=True)
            found.append(Mount(target, host, mode == ["ro"]))
        return sorted(found, key=lambda m: -len(m.target))

    def reroot(self, name: str, text: str) -> str:
        """``text`` with container paths on the service's volumes and names on loopback."""

        def address(match: re.Match[str]) -> str:
            host, port = match.group(1), int(match.group(2))
            if host in ("0.0.0.0", name):
                return f"127.0.0.1:{self.port(name, port)}"
            if host in self.services:
                return f"127.0.0.1:{self.port(host, port)}"
            return match.group(0)

        text = re.sub(r"\b([a-z][a-z0-9-]*|0\.0\.0\.0):(\d{2,5})\b", address, text)
        mounts = self.mounts(name)
        pattern = re.compile("|".join(re.escape(m.target) for m in mounts))
        by_target = {m.target: m for m in mounts}
        return pattern.sub(lambda m: str(self._host_path(name, by_target[m.group(0)])), text)

    def _host_path(self, name: str, mount: Mount) -> Path:
        """The host path of a mount; a bind-mounted config file is re-rooted in a copy."""
        if mount.source.is_file() and mount.source.suffix == ".toml":
            copy = self.root / "config" / name / mount.source.name
            if not copy.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                copy.write_text(self.reroot(name, mount.source.read_text()))
            return copy
        return mount.source

    def command(self, name: str, argv: list[str] | None = None) -> list[str]:
        """The service's entrypoint + command (or ``argv``), re-rooted, in its sandbox."""
        service = self.services[name]
        if argv is None:
            argv = list(service.get("entrypoint") or IMAGE_ENTRYPOINT) + list(
                service.get("command") or []
            )
        argv = [self.reroot(name, unescape(arg)) for arg in argv]
        if argv[0] == "allelemesh":
            argv = [sys.executable, "-m", "mesh", *argv[1:]]
        return self._sandboxed(name, argv)

    def _sandboxed(self, name: str, argv: list[str]) -> list[str]:
        """``argv`` in a mount namespace where only the writable volumes and /tmp are."""
        tmp = self.root / "tmp" / name
        tmp.mkdir(parents=True, exist_ok=True)
        writable = [tmp] + [m.source for m in self.mounts(name) if not m.read_only]
        binds = " && ".join(
            f"mount --bind {shlex.quote(str(p))} {shlex.quote(str(p))} && "
            f"mount -o remount,bind,rw {shlex.quote(str(p))}"
            for p in writable
        )
        script = f'mount --rbind / / && mount -o remount,bind,ro / && {binds} && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]

    def env(self, name: str) -> dict[str, str]:
        """The service's environment; ``allelemesh`` on PATH runs this checkout."""
        service = self.services[name]
        bin_dir = str(Path(sys.executable).parent)
        return {
            "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(REPO),
            "TMPDIR": str(self.root / "tmp" / name),
            **{k: str(v) for k, v in (service.get("environment") or {}).items()},
        }

    def cwd(self) -> Path:
        """The working directory: inside the read-only root."""
        path = self.root / "cwd"
        path.mkdir(exist_ok=True)
        return path

    def run_job(self, name: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a one-shot service to completion."""
        return subprocess.run(
            self.command(name), cwd=self.cwd(), env=self.env(name), capture_output=True,
            text=True, timeout=timeout_s, check=False,
        )  # fmt: skip

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Start a long-running service; its stderr goes to a log file under the root."""
        log = (self.root / f"{name}.log").open("wb")
        process = subprocess.Popen(
            self.command(name), cwd=self.cwd(), env=self.env(name),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def healthcheck(self, name: str) -> subprocess.CompletedProcess[str]:
        """The service's own HEALTHCHECK command, in its sandbox."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD", test
        return subprocess.run(
            self.command(name, list(test[1:])), cwd=self.cwd(), env=self.env(name),
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip

    def wait_healthy(self, name: str, timeout_s: float = 60) -> None:
        """Poll the HEALTHCHECK (bounded) until it passes."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            last = self.healthcheck(name)
            if last.returncode == 0:
                return
            time.sleep(0.5)
        log = (self.root / f"{name}.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"{name} never healthy: {last and last.stderr}\n{log}")

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")


def in_order(services: dict[str, Any], profile: str) -> list[str]:
    """The profile's allelemesh services, each after what it ``depends_on``."""
    chosen = [
        n
        for n, s in services.items()
        if profile in s.get("profiles", []) and str(s.get("image", "")).startswith("allelemesh")
    ]
    done: list[str] = []
    while len(done) < len(chosen):
        for name in chosen:
            deps = set(services[name].get("depends_on") or {})
            if name not in done and deps <= set(done):
                done.append(name)
    return done


@contextlib.contextmanager
def running_profile(root: Path, profile: str) -> Iterator[tuple[World, list[str]]]:
    """Every service of ``profile`` run as Compose would order them; stopped on exit."""
    world = World(root, compose()["services"])
    order = in_order(world.services, profile)
    try:
        for name in order:
            service = world.services[name]
            if service.get("restart") == "no":
                result = world.run_job(name)
                assert result.returncode == 0, f"{name} failed:\n{result.stderr[-3000:]}"
            else:
                world.start(name)
                world.wait_healthy(name)
        yield world, order
    finally:
        for process in world.processes:
            process.terminate()
        for process in world.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def unshare_works() -> bool:
    """Whether this machine lets us make a private mount namespace."""
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         "mount --rbind / / && mount -o remount,bind,ro / && ! touch /.allelemesh-probe"],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    return probe.returncode == 0 and not os.path.exists("/.allelemesh-probe")
