"""One budget, every door: 20 direct + 20 via a peer node + 20 via the gateway = 20 rows.

The NO node runs as a real ``allelemesh node serve --config node.toml --workers 2``
process (SO_REUSEPORT), its ``dense`` dataset with a budget of 20 rows per hour. One
user (one operator certificate) asks it directly (a fresh connection each time, so
both workers answer), through a FI node with ``[[peers]]`` (``SCOPE_MESH``) and
through a gateway; none of the requests names a dataset. Together they get exactly
20 ``dense`` rows, the refusals are dataset outcomes (``open`` keeps answering), and
after a restart of the node the budget is still spent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from gateway.server import start_gateway
from mesh.config import GatewayConfig, NodeConfig, TlsConfig
from mesh.plumbing.channels import CHANNEL_OPTIONS, open_aio_channel
from mesh.security.tls import channel_credentials
from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.serve.server import start_node
from tests.budget_world import (
    RESOURCE_EXHAUSTED,
    Certs,
    build_indexes,
    dataset_statuses,
    peer,
    rows_of,
    variant,
)
from tests.mesh_harness import REPO, fast_settings, free_port, wait_for_health
from tests.pki_factory import TestPki

pytestmark = pytest.mark.asyncio
BUDGET = 20


def node_toml(path: Path, port: int, tls: TlsConfig, indexes: dict[str, Path]) -> Path:
    path.write_text(
        f"""
[node]
id = "no-oslo-1"
country = "NO"
listen = "127.0.0.1:{port}"
reload_interval_s = 0
state_dir = "state"

[tls]
ca = ["{tls.ca[0]}"]
cert = "{tls.cert}"
key = "{tls.key}"

[[datasets]]
id = "open"
index = "{indexes["open"]}"

[[datasets]]
id = "dense"
index = "{indexes["dense"]}"
query_budget = {{ lookups = {BUDGET}, per_seconds = 3600 }}
"""
    )
    return path


@contextlib.contextmanager
def node_serving(config: Path, port: int, tls: TlsConfig) -> Iterator[subprocess.Popen[bytes]]:
    """``allelemesh node serve --workers 2``, healthy; SIGTERM (then SIGKILL) on exit."""
    command = [sys.executable, "-m", "mesh", "--log-level", "WARNING", "node", "serve",
               "--config", str(config), "--workers", "2"]  # fmt: skip
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
    try:
        try:
            wait_for_health(f"127.0.0.1:{port}", 60.0, tls=tls)
        except TimeoutError:
            log.seek(0)
            raise TimeoutError(log.read().decode(errors="replace")[-3000:]) from None
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


def workers_with_connections(master: int, port: int) -> int:
    """How many child processes of ``master`` hold an established connection on ``port``."""
    established = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):  # the server socket may be dual-stack
        with open(name) as table:
            for line in table.readlines()[1:]:
                fields = line.split()
                if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                    established.add(fields[9])
    busy = 0
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) != master:
                    continue
            sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        if any(f"socket:[{inode}]" in sockets for inode in established):
            busy += 1
    return busy


def new_connection(port: int, tls: TlsConfig) -> grpc.aio.Channel:
    """A channel with its own TCP connection (gRPC shares subchannels between channels)."""
    options = (*CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1))
    return grpc.aio.secure_channel(f"127.0.0.1:{port}", channel_credentials(tls), options=options)


async def test_sixty_lookups_through_three_doors_two_workers_and_a_restart_get_twenty(
    tmp_path, tmp_path_factory
):
    indexes = build_indexes(tmp_path_factory.mktemp("budget-world"))
    certs = Certs(TestPki.create(tmp_path / "pki", countries=("NO", "FI", "DE")))
    user = certs.tls("DE", "operator", "carol")
    port = free_port()
    config = node_toml(tmp_path / "node.toml", port, certs.tls("NO", "node", "no-oslo-1"), indexes)
    request = allele_service_pb2.LookupVariantRequest(variant=variant(1000))
    mesh_request = allele_service_pb2.LookupVariantRequest(
        variant=variant(1000), scope=allele_pb2.SCOPE_MESH
    )
    dense_rows = 0
    refusals: list[str] = []

    def count(door: str, response: allele_service_pb2.LookupVariantResponse) -> None:
        nonlocal dense_rows
        assert rows_of(response.frequencies, "open") == 1, door  # open datasets keep answering
        dense_rows += rows_of(response.frequencies, "dense")
        no = next(o for o in response.outcomes if o.node_id == "no-oslo-1")
        assert no.status.code == 0, (door, no.status.message)
        if dataset_statuses(no).get("dense") == RESOURCE_EXHAUSTED:
            refusals.append(door)

    with node_serving(config, port, user) as master:
        fi = await start_node(NodeConfig(
            id="fi-helsinki-1", country="FI", listen="127.0.0.1:0", reload_interval_s=0,
            tls=certs.tls("FI", "node", "fi-helsinki-1"), datasets=(),
            peers=(peer("no-oslo-1", "NO", port, certs.pki),),
        ))  # fmt: skip
        gateway_tls = certs.tls("DE", "gateway", "eu-gw-1")
        gateway = await start_gateway(
            GatewayConfig(id="eu-gw-1", listen="127.0.0.1:0", tls=gateway_tls,
                          peers=(peer("no-oslo-1", "NO", port, certs.pki),)),
            settings=fast_settings(),
        )  # fmt: skip
        direct_channels = []
        try:
            via_fi = open_aio_channel(f"127.0.0.1:{fi.port}", user)
            via_gw = open_aio_channel(f"127.0.0.1:{gateway.port}", user)
            fi_stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(via_fi)
            gw_stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(via_gw)
            for _ in range(BUDGET):
                channel = new_connection(port, user)
                direct_channels.append(channel)
                direct = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
                count("direct", await direct.LookupVariant(request, timeout=10))
                count("peer", await fi_stub.LookupVariant(mesh_request, timeout=10))
                count("gateway", await gw_stub.LookupVariant(request, timeout=10))
            assert workers_with_connections(master.pid, port) == 2, "both workers should answer"
            await via_fi.close()
            await via_gw.close()
        finally:
            for channel in direct_channels:
                await channel.close()
            await gateway.stop(0)
            await fi.stop(0)
    assert dense_rows == BUDGET
    assert set(refusals) == {"direct", "peer", "gateway"}
    assert len(refusals) == 2 * BUDGET

    with node_serving(config, port, user):  # restarted: the ledger is on disk
        channel = open_aio_channel(f"127.0.0.1:{port}", user)
        async with channel:
            stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
            for _ in range(3):
                count("after restart", await stub.LookupVariant(request, timeout=10))
    assert dense_rows == BUDGET
    assert refusals[-3:] == ["after restart"] * 3
    assert (tmp_path / "state" / "budgets.sqlite3").stat().st_mode & 0o777 == 0o640
