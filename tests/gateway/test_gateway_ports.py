"""``gateway serve`` on a busy port: one line naming the setting, address and owner; exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mesh_harness import REPO, free_port, held_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    with held_port() as port:
        yield port


def gateway(tmp_path: Path, listen: str, http_listen: str = "") -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gateway.toml"
    http = f'http_listen = "{http_listen}"\n' if http_listen else ""
    config.write_text(
        f'[gateway]\nid = "gw-1"\nlisten = "{listen}"\n{http}\n'
        '[[peers]]\nid = "lu-lux"\ncountry = "LU"\naddress = "127.0.0.1:9"\n'
    )
    env = {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")}
    return subprocess.run(
        [sys.executable, "-m", "mesh", "gateway", "serve", "--config", str(config), "--insecure"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def the_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Event loop is closed" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if "configuration error" in line]
    return line


def test_busy_grpc_port(tmp_path: Path, busy_port: int) -> None:
    line = the_error(gateway(tmp_path, f"127.0.0.1:{busy_port}"))
    assert line.startswith(
        f"allelemesh: configuration error: [gateway].listen 127.0.0.1:{busy_port}: "
        f"port {busy_port} is in use by pid {os.getpid()} ("
    )


def test_busy_http_port(tmp_path: Path, busy_port: int) -> None:
    line = the_error(gateway(tmp_path, f"127.0.0.1:{free_port()}", f"127.0.0.1:{busy_port}"))
    assert line.startswith(
        f"allelemesh: configuration error: [gateway].http_listen 127.0.0.1:{busy_port}: "
        f"port {busy_port} is in use by pid {os.getpid()} ("
    )


async def test_http_port_lost_to_a_race_is_the_same_error(busy_port: int) -> None:
    from gateway.http.server import serve

    with pytest.raises(Exception) as caught:
        await serve(lambda *_: None, f"127.0.0.1:{busy_port}")  # type: ignore[arg-type]
    assert str(caught.value).startswith(
        f"[gateway].http_listen 127.0.0.1:{busy_port}: port {busy_port} is in use by pid "
        f"{os.getpid()} ("
    )
