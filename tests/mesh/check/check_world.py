"""A mesh of real node processes on mTLS for ``mesh check``, with faults injected for real.

Node processes run ``python -m mesh node serve --config node.toml``; the test-only servers
(an older ``mesh.v1``, a proxy that alters counts) are gRPC servers in this process's
threads, so the ``mesh check`` subprocess and a gateway process can reach them while the
test waits.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mesh.config import TlsConfig
from mesh.security.tls import load_material
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from tests.mesh_harness import REPO, free_port, wait_for_health


def toml_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join(f'"{p}"' for p in paths) + "]"


def tls_table(tls: TlsConfig) -> str:
    return f'[tls]\nca = {toml_list(tls.ca)}\ncert = "{tls.cert}"\nkey = "{tls.key}"\n'


@dataclass
class Peer:
    """One ``[[peers]]`` entry to write into the checking process's config."""

    id: str
    country: str
    port: int
    identity: str = ""

    def toml(self) -> str:
        ident = f'identity = "{self.identity}"\n' if self.identity else ""
        return (
            f'[[peers]]\nid = "{self.id}"\ncountry = "{self.country}"\n'
            f'address = "127.0.0.1:{self.port}"\n{ident}'
        )


@dataclass
class Process:
    """A mesh process (node or gateway) started from its config file."""

    process: subprocess.Popen[bytes]
    port: int
    log: Any

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def stderr(self) -> str:
        self.log.seek(0)
        return str(self.log.read().decode(errors="replace"))[-3000:]


def write_node_config(
    path: Path, node_id: str, country: str, port: int, tls: TlsConfig,
    datasets: Sequence[tuple[str, Path]], tier: str = "production",
) -> Path:  # fmt: skip
    text = (
        f'[node]\nid = "{node_id}"\ncountry = "{country}"\nlisten = "127.0.0.1:{port}"\n'
        f'tier = "{tier}"\nreload_interval_s = 0\nlog_json = false\n\n{tls_table(tls)}'
    )
    for dataset_id, index in datasets:
        text += f'\n[[datasets]]\nid = "{dataset_id}"\nindex = "{index}"\n'
    path.write_text(text)
    return path


def launch(kind: str, config: Path, port: int) -> Process:
    """Start ``mesh <kind> serve --config`` (not yet waited for)."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the world
    command = [sys.executable, "-m", "mesh", kind, "serve", "--config", str(config)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
    return Process(process, port, log)


def wait_healthy(process: Process, tls: TlsConfig) -> None:
    try:
        wait_for_health(f"127.0.0.1:{process.port}", 150.0, tls=tls)
    except TimeoutError:
        process.stop()
        raise TimeoutError(
            f"process on {process.port} did not start:\n{process.stderr()}"
        ) from None


def run_mesh_check(config: Path, *extra: str, timeout: float = 120) -> tuple[int, str, str]:
    """``python -m mesh mesh check --config`` as an operator would run it: code, stdout, stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "mesh", "mesh", "check", "--config", str(config), *extra],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def json_checks(output: str) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, str]]]]:
    """The JSON report and ``{peer id: {check: {status, detail}}}``."""
    report = json.loads(output[output.index("{") : output.rindex("}") + 1])
    by_peer = {
        p["id"]: {c["name"]: {"status": c["status"], "detail": c["detail"]} for c in p["checks"]}
        for p in report["peers"]
    }
    return report, by_peer


# ------------------------------------------------------------------ test-only servers


def _server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    material = load_material(tls)
    return grpc.ssl_server_credentials(
        [(material.key, material.chain)],
        root_certificates=material.roots,
        require_client_auth=True,
    )


def _health(server: grpc.Server) -> None:
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)


def older_contract_pool() -> descriptor_pool.DescriptorPool:
    """``mesh.v1`` as an older release had it: no SearchRegion, no VariantFrequency.filters."""
    pool = descriptor_pool.DescriptorPool()
    for module in (allele_pb2, allele_service_pb2, catalog_service_pb2):
        for dependency in module.DESCRIPTOR.dependencies:
            if not dependency.name.startswith("mesh/"):
                _add_file(pool, dependency)
    for module in (allele_pb2, allele_service_pb2, catalog_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        for message in proto.message_type:
            if message.name == "VariantFrequency":
                kept = [f for f in message.field if f.name != "filters"]
                del message.field[:]
                message.field.extend(kept)
        for service in proto.service:
            kept_methods = [m for m in service.method if m.name != "SearchRegion"]
            del service.method[:]
            service.method.extend(kept_methods)
        pool.Add(proto)
    return pool


def _add_file(pool: descriptor_pool.DescriptorPool, file: Any) -> None:
    for dependency in file.dependencies:
        _add_file(pool, dependency)
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    with contextlib.suppress(TypeError):  # already added
        pool.Add(proto)


@contextlib.contextmanager
def older_contract_server(tls: TlsConfig) -> Iterator[int]:
    """A gRPC server with reflection whose mesh.v1 descriptors lack a field and a method."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    _health(server)
    names = ("mesh.v1.AlleleFrequencyService", "mesh.v1.CatalogService", health.SERVICE_NAME)
    reflection.enable_server_reflection(
        (*names, reflection.SERVICE_NAME), server, pool=older_contract_pool()
    )
    port = server.add_secure_port("127.0.0.1:0", _server_credentials(tls))
    server.start()
    try:
        yield port
    finally:
        server.stop(0)


class _AlteringProxy(grpc.GenericRpcHandler):
    """Forwards mesh.v1 calls upstream and adds 1 to every allele count in lookups."""

    ALTERED = {
        "/mesh.v1.AlleleFrequencyService/LookupVariant": allele_service_pb2.LookupVariantResponse,
        "/mesh.v1.AlleleFrequencyService/SearchRegion": allele_service_pb2.SearchRegionResponse,
    }

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = details.method
        if not method.startswith("/mesh.v1."):
            return None
        call = self.channel.unary_unary(method)
        response_type = self.ALTERED.get(method)

        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                answer: bytes = call(request, timeout=5)
            except grpc.RpcError as error:
                context.abort(error.code(), error.details() or "")
            if response_type is None:
                return answer
            message = response_type.FromString(answer)
            for row in message.frequencies:
                if row.counts.HasField("allele_count"):
                    row.counts.allele_count += 1  # AF no longer AC/AN
            return message.SerializeToString()

        return grpc.unary_unary_rpc_method_handler(forward)


@contextlib.contextmanager
def altering_proxy(tls: TlsConfig, upstream_port: int) -> Iterator[int]:
    """A buggy sidecar in front of a node: same country's certificate, altered counts."""
    from mesh.plumbing.channels import open_channel

    channel = open_channel(f"127.0.0.1:{upstream_port}", tls)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((_AlteringProxy(channel),))
    _health(server)
    reflection.enable_server_reflection(
        ("mesh.v1.AlleleFrequencyService", "mesh.v1.CatalogService", reflection.SERVICE_NAME),
        server,
    )
    port = server.add_secure_port("127.0.0.1:0", _server_credentials(tls))
    server.start()
    try:
        yield port
    finally:
        server.stop(0)
        channel.close()


__all__ = ["free_port"]
