"""The country node process: a grpc.aio server over the node's indexes.

:func:`start_node` starts a node inside the running event loop and returns a
:class:`RunningNode` (tests use it with ``listen = "127.0.0.1:0"``);
:func:`serve_forever` is what ``allelemesh node serve`` runs, with signal handling
(SIGTERM/SIGINT stop gracefully, SIGHUP reloads rebuilt indexes) and ``--workers N``
processes sharing one port through SO_REUSEPORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from dataclasses import dataclass, replace

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mesh.config import NodeConfig
from mesh.errors import ConfigError
from mesh.federation import FederationSettings, LocalSource, MeshBackend
from mesh.paging import PageTokenCodec
from mesh.tls import server_credentials
from mesh.tracing import (
    TRACE_SERVICE,
    Telemetry,
    server_interceptor,
    setup_tracing,
    start_metrics_server,
    trace_service_handler,
)
from nodes.audit import AuditLog
from nodes.lookup import LocalLookup, NodeIdentity
from nodes.policy import policy_from_config
from nodes.reference import FastaReference
from nodes.servicers import ALLELE_SERVICE, CATALOG_SERVICE, NodeServicers
from nodes.store import IndexStore

log = logging.getLogger(__name__)

#: Largest request accepted: a full batch of 10,000 long-allele variants fits easily.
MAX_RECEIVE_BYTES = 16 * 1024 * 1024
MAX_SEND_BYTES = 64 * 1024 * 1024
GRACE_S = 5.0

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.max_send_message_length", MAX_SEND_BYTES),
    ("grpc.so_reuseport", 1),
    # Let clients keep idle connections alive with pings every 10 s or more.
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


@dataclass
class RunningNode:
    """A started node: its bound port and how to stop it."""

    server: grpc.aio.Server
    port: int
    store: IndexStore
    lookup: LocalLookup
    _reloader: asyncio.Task[None]
    #: The federation engine when the node has ``[[peers]]`` (answers SCOPE_MESH).
    mesh: MeshBackend | None = None
    audit: AuditLog | None = None
    telemetry: Telemetry | None = None
    metrics_server: asyncio.Server | None = None

    async def stop(self, grace: float | None = GRACE_S) -> None:
        """Stop serving (finishing in-flight calls within ``grace``) and close indexes."""
        self._reloader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reloader
        await self.server.stop(grace)
        if self.mesh is not None:
            await self.mesh.close()
        self.store.close()
        if self.audit is not None:
            self.audit.close()
        if self.metrics_server is not None:
            self.metrics_server.close()
        if self.telemetry is not None:
            self.telemetry.shutdown()

    def reload(self) -> list[str]:
        """Pick up rebuilt indexes now; returns the ids of datasets that changed."""
        return self.store.reload_changed()


async def start_node(
    config: NodeConfig, *, insecure: bool = False, page_token_secret: bytes | None = None
) -> RunningNode:
    """Open the indexes, bind the port and start serving."""
    if config.tls is None and not insecure:
        raise ConfigError(
            "node: no [tls] table: configure TLS, or pass --insecure for plaintext "
            "on a trusted network"
        )
    if config.tls is not None and insecure:
        raise ConfigError("node: --insecure is refused when a [tls] table is configured")
    audit = AuditLog(config.audit_path) if config.audit_path is not None else None
    store = IndexStore([(d.id, d.index, d.log_queries) for d in config.datasets])
    references = {a: FastaReference(path, a) for a, path in config.references.items()}
    lookup = LocalLookup(
        store,
        NodeIdentity(config.id, config.country),
        default_assembly=config.default_assembly,
        references=references,
        page_tokens=PageTokenCodec(page_token_secret),
        max_batch_variants=config.max_batch_variants,
        policies={d.id: policy_from_config(d) for d in config.datasets},
    )
    telemetry = setup_tracing(config.tracing, "allelemesh-node", config.id, config.country)
    server = grpc.aio.server(
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=config.max_concurrent_rpcs,
        interceptors=[server_interceptor(telemetry)],
    )
    servicers = NodeServicers(lookup, log_queries=config.log_queries, audit=audit)
    if config.peers:
        # The same engine as the gateway; this node's datasets are one of its sources.
        servicers.mesh = MeshBackend.open(
            config.peers,
            tls=config.tls,
            local=LocalSource(config.id, config.country, servicers.answer_locally),
            settings=FederationSettings(
                timeout_s=config.timeout_ms / 1000.0, default_assembly=config.default_assembly
            ),
            telemetry=telemetry,
        )
    server.add_generic_rpc_handlers(tuple(servicers.handlers()))
    server.add_generic_rpc_handlers((trace_service_handler(telemetry),))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    services = (
        ALLELE_SERVICE,
        CATALOG_SERVICE,
        TRACE_SERVICE,
        health.SERVICE_NAME,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(services, server)
    if config.tls is not None:
        port = server.add_secure_port(config.listen, server_credentials(config.tls))
    else:
        port = server.add_insecure_port(config.listen)
    if port == 0:
        store.close()
        raise ConfigError(f"node: cannot listen on {config.listen} (address in use?)")
    await server.start()
    for name in ("", ALLELE_SERVICE, CATALOG_SERVICE):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reloader = asyncio.create_task(_watch_indexes(store, config.reload_interval_s))
    if servicers.mesh is not None:
        # Peers may start after us: fetch their catalogues in the background.
        await servicers.mesh.start(wait=False)
    metrics_server = None
    if config.metrics.listen:
        metrics_server = await start_metrics_server(telemetry, config.metrics.listen)
    log.info(
        "node %s (%s) serving %d datasets on port %d",
        config.id,
        config.country,
        len(config.datasets),
        port,
        extra={"fields": {"node_id": config.id, "port": port, "tls": config.tls is not None}},
    )
    return RunningNode(
        server, port, store, lookup, reloader, servicers.mesh, audit, telemetry, metrics_server
    )


async def _watch_indexes(store: IndexStore, interval_s: float) -> None:
    """Poll for rebuilt indexes; a rebuild swaps a symlink, so polling is cheap."""
    if interval_s <= 0:
        return
    while True:
        await asyncio.sleep(interval_s)
        try:
            store.reload_changed()
        except Exception:  # keep watching: one bad reload must not stop future ones
            log.exception("index reload failed")


async def _serve(config: NodeConfig, insecure: bool, secret: bytes) -> None:
    node = await start_node(config, insecure=insecure, page_token_secret=secret)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, node.reload)
    await stop.wait()
    log.info("node %s stopping", config.id)
    await node.stop()


def _worker_main(config: NodeConfig, insecure: bool, secret: bytes, log_level: str) -> None:
    from mesh.logs import configure_logging

    configure_logging(log_level, json_lines=config.log_json)
    asyncio.run(_serve(config, insecure, secret))


def serve_forever(config: NodeConfig, *, insecure: bool = False, log_level: str = "INFO") -> None:
    """Run the node until SIGTERM/SIGINT, in ``config.workers`` processes."""
    # One signing secret for every worker, so a page token from one is valid at another.
    secret = PageTokenCodec().secret
    if config.workers == 1:
        asyncio.run(_serve(config, insecure, secret))
        return
    if config.listen.endswith(":0"):
        raise ConfigError("node: --workers needs a fixed port in listen, not port 0")
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_worker_main,
            args=(replace(config, workers=1), insecure, secret, log_level),
            name=f"node-worker-{i}",
        )
        for i in range(config.workers)
    ]
    for worker in workers:
        worker.start()

    def forward(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    for worker in workers:
        worker.join()
