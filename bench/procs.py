"""Node and gateway subprocesses for the bench: started with bounded waits, always stopped.

Everything runs on loopback. :class:`ProcessSet` is a context manager: every process
started through it gets ``SIGCONT`` (in case a figure stalled it) and ``SIGTERM`` on
exit, then ``SIGKILL`` after a short grace, so a failing figure never leaves servers
behind. Processes are ended by their own pid only.

mTLS: :class:`BenchPki` issues a federation root, one CA per country and a leaf per
process with :mod:`mesh.security.pki` when that module exists; otherwise ``tls`` is ``None``
and every process runs ``--insecure`` (the report says so).

Tracing: :data:`TRACING_TOML` is the ``[tracing]`` table written for "tracing on" and
:data:`TRACING_OFF_TOML` for "off" (neither: the shipped defaults).
:func:`tracing_support` asks ``mesh.config`` whether it accepts them; where it does not,
figures that need tracing report "not measured" with the loader's error. Adjust the two
tables here if the ``[tracing]`` keys change.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

REPO = Path(__file__).resolve().parent.parent
#: The ``[tracing]`` table written when a figure turns tracing on (sample everything,
#: export nowhere: the cost measured is instrumentation and span creation).
TRACING_TOML = '[tracing]\nexporter = "none"\nsample_ratio = 1.0\n'
#: The ``[tracing]`` table for "tracing off": nothing sampled, nothing buffered.
TRACING_OFF_TOML = '[tracing]\nexporter = "none"\nsample_ratio = 0.0\nbuffer_spans = 0\n'
STOP_GRACE_S = 5.0


# --------------------------------------------------------------------------- PKI


@dataclass(frozen=True)
class TlsFiles:
    """One process's certificate, key and the federation root it trusts."""

    ca: Path
    cert: Path
    key: Path

    def toml(self) -> str:
        """The ``[tls]`` table of a node.toml or gateway.toml."""
        return f'[tls]\nca = ["{self.ca}"]\ncert = "{self.cert}"\nkey = "{self.key}"\n'

    def config(self) -> Any:
        """As a :class:`mesh.config.TlsConfig` (for client channels)."""
        from mesh.config import TlsConfig

        return TlsConfig(ca=(self.ca,), cert=self.cert, key=self.key)


class BenchPki:
    """A throw-away federation PKI in one directory (``mesh.security.pki``)."""

    TRUST_DOMAIN = "bench.allelemesh.example"

    def __init__(self, out: Path) -> None:
        from mesh.security import pki

        self._pki = pki
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        if not (out / f"{pki.ROOT_NAME}.crt").exists():
            pki.init_root(out, self.TRUST_DOMAIN)
        self.root = out / f"{pki.ROOT_NAME}.crt"
        self._countries: set[str] = set()

    @staticmethod
    def available() -> tuple[bool, str]:
        """Whether ``mesh.security.pki`` can issue certificates here."""
        try:
            from mesh.security import pki  # noqa: F401
        except ImportError as exc:
            return False, f"mesh.security.pki is not importable ({exc})"
        return True, "mesh.security.pki"

    def leaf(self, cc: str, role: str, name: str) -> TlsFiles:
        """Issue (or reuse) a leaf for one process."""
        cc = cc.upper()
        if cc not in self._countries:
            if not (self.out / f"{cc.lower()}-ca.crt").exists():
                self._pki.issue_country_ca(self.out, cc)
            self._countries.add(cc)
        cert, key = self.out / f"{name}.crt", self.out / f"{name}.key"
        if not cert.exists():
            issued = self._pki.issue_leaf(self.out, cc, role, name)
            cert, key = issued.cert, issued.key
        return TlsFiles(self.root, cert, key)


# --------------------------------------------------------------------------- tracing


def tracing_support() -> tuple[bool, str]:
    """Whether node and gateway configs accept :data:`TRACING_TOML`, and why not."""
    from mesh.config import load_gateway_config, load_node_config
    from mesh.errors import MeshError

    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as tmp:
        index = Path(tmp) / "index"
        index.mkdir()
        node = Path(tmp) / "node.toml"
        node.write_text(
            '[node]\nid = "probe"\ncountry = "NO"\nlisten = "127.0.0.1:1"\n'
            f'[[datasets]]\nid = "probe"\nindex = "{index}"\n{TRACING_TOML}',
            encoding="utf-8",
        )
        gateway = Path(tmp) / "gateway.toml"
        gateway.write_text(
            '[gateway]\nid = "probe"\nlisten = "127.0.0.1:1"\n'
            '[[peers]]\nid = "p"\ncountry = "NO"\naddress = "127.0.0.1:2"\n' + TRACING_TOML,
            encoding="utf-8",
        )
        for loader, path in ((load_node_config, node), (load_gateway_config, gateway)):
            try:
                config = loader(path)
            except MeshError as exc:
                message = str(exc).replace(f"{tmp}/", "")
                return False, f"tracing not wired yet: {message}"
            if getattr(config, "tracing", None) is None:
                return False, f"tracing not wired yet: {type(config).__name__} has no tracing"
    return True, "[tracing] sample_ratio = 1.0"


# --------------------------------------------------------------------------- processes


def _tracing_table(tracing: bool | None) -> str:
    """``None``: leave the config's defaults; ``True``/``False``: tracing on/off."""
    if tracing is None:
        return ""
    return TRACING_TOML if tracing else TRACING_OFF_TOML


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One started node or gateway process."""

    name: str
    address: str
    process: subprocess.Popen[bytes]
    log_path: Path
    tls: TlsFiles | None
    country: str = ""
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        """The end of the process's log (for error messages)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (from /proc)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def stall(self) -> None:
        """SIGSTOP: the process keeps its sockets but answers nothing."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)


class ProcessSet:
    """Starts node and gateway processes; stops every one of them on exit."""

    def __init__(self, work: Path, pki: BenchPki | None) -> None:
        self.work = work
        self.pki = pki
        self.servers: list[Server] = []
        work.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> ProcessSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    # -- start ------------------------------------------------------------------------

    def _spawn(
        self,
        name: str,
        args: Sequence[str],
        address: str,
        tls: TlsFiles | None,
        module: str = "mesh",
    ) -> Server:
        log_path = self.work / f"{name}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [sys.executable, "-m", module, *args],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        server = Server(name, address, process, log_path, tls)
        self.servers.append(server)
        return server

    def start_node(
        self,
        name: str,
        country: str,
        index: Path,
        *,
        tracing: bool | None = None,
        log_level: str = "INFO",
    ) -> Server:
        """Start ``allelemesh node serve`` over one index (not waiting for readiness)."""
        address = f"127.0.0.1:{free_port()}"
        tls = self.pki.leaf(country, "node", name) if self.pki else None
        from nodes.index.index_dir import read_metadata

        dataset_id = read_metadata(index).id
        config = self.work / f"{name}.toml"
        config.write_text(
            f'[node]\nid = "{name}"\ncountry = "{country}"\nlisten = "{address}"\n'
            f"reload_interval_s = 0.0\nlog_json = true\n"
            f'[[datasets]]\nid = "{dataset_id}"\nindex = "{index}"\n'
            + (tls.toml() if tls else "")
            + _tracing_table(tracing),
            encoding="utf-8",
        )
        args = ["--log-level", log_level, "node", "serve", "--config", str(config)]
        server = self._spawn(name, [*args] + ([] if tls else ["--insecure"]), address, tls)
        server.country = country
        return server

    def start_gateway(
        self,
        name: str,
        peers: Sequence[Server],
        *,
        timeout_ms: int = 1000,
        tracing: bool | None = None,
        log_level: str = "WARNING",
        http_listen: str = "",
    ) -> Server:
        """Start ``allelemesh gateway serve`` over ``peers`` (not waiting for readiness)."""
        address = f"127.0.0.1:{free_port()}"
        tls = self.pki.leaf("EU", "gateway", name) if self.pki else None
        http = f'http_listen = "{http_listen}"\n' if http_listen else ""
        lines = [
            f'[gateway]\nid = "{name}"\nlisten = "{address}"\ntimeout_ms = {timeout_ms}\n{http}',
            tls.toml() if tls else "",
            _tracing_table(tracing),
        ]
        for peer in peers:
            lines.append(
                f'[[peers]]\nid = "{peer.name}"\ncountry = "{peer.country}"\n'
                f'address = "{peer.address}"\n'
            )
        config = self.work / f"{name}.toml"
        config.write_text("".join(lines), encoding="utf-8")
        args = ["--log-level", log_level, "gateway", "serve", "--config", str(config)]
        return self._spawn(name, [*args] + ([] if tls else ["--insecure"]), address, tls)

    def start_echo(self, name: str) -> Server:
        """Start :mod:`bench.echo_server` (the bare grpc.aio floor), TLS like the nodes."""
        address = f"127.0.0.1:{free_port()}"
        tls = self.pki.leaf("NO", "node", name) if self.pki else None
        files = [str(tls.ca), str(tls.cert), str(tls.key)] if tls else []
        return self._spawn(name, [address, *files], address, tls, module="bench.echo_server")

    def start_proxy(self, name: str, links: Sequence[tuple[str, float]]) -> list[str]:
        """Start :mod:`bench.wan_proxy` with one link per ``(target, delay_s)``.

        Returns the links' listening addresses (in order) once every one accepts
        connections; raises with the proxy's log if it exits or is not up within 30 s.
        """
        listens = [f"127.0.0.1:{free_port()}" for _ in links]
        args = [f"{listen}={target}@{delay_s * 1e3:g}"
                for listen, (target, delay_s) in zip(listens, links, strict=True)]  # fmt: skip
        proxy = self._spawn(name, args, listens[0], None, module="bench.wan_proxy")
        deadline = time.monotonic() + 30.0
        for listen in listens:
            host, port = listen.rsplit(":", 1)
            while True:
                if proxy.process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{proxy.log_tail()}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((host, int(port)), timeout=1.0),
                ):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not listening after 30 s:\n{proxy.log_tail()}")
                time.sleep(0.05)
        return listens

    def client_tls(self) -> TlsFiles | None:
        """A client (operator) identity for the bench's own calls."""
        return self.pki.leaf("EU", "operator", "bench-client") if self.pki else None

    # -- readiness --------------------------------------------------------------------

    def wait_ready(self, servers: Sequence[Server], timeout_s: float = 90.0) -> None:
        """Wait until every server answers a gRPC health check, or raise with its log."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        from mesh.plumbing.channels import open_channel

        deadline = time.monotonic() + timeout_s
        client = self.client_tls()
        tls = client.config() if client else None
        for server in servers:
            with open_channel(server.address, tls) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                while True:
                    if server.process.poll() is not None:
                        raise RuntimeError(
                            f"{server.name} exited with {server.process.returncode}:\n"
                            + server.log_tail()
                        )
                    try:
                        reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=2.0)
                        if reply.status == health_pb2.HealthCheckResponse.SERVING:
                            break
                    except grpc.RpcError:
                        pass
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"{server.name} not serving after {timeout_s:.0f} s:\n"
                            + server.log_tail()
                        )
                    time.sleep(0.1)

    # -- stop -------------------------------------------------------------------------

    def stop(self, servers: Sequence[Server]) -> None:
        """SIGCONT + SIGTERM each, wait up to the grace period, then SIGKILL."""
        live = [s for s in servers if not s.stopped]
        for server in live:
            server.resume()
            with contextlib.suppress(ProcessLookupError):
                server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for server in live:
            try:
                server.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)
            server.stopped = True

    def stop_all(self) -> None:
        """Stop every process this set started."""
        self.stop(self.servers)
