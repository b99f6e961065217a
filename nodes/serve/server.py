"""The country node process: a grpc.aio server over the node's indexes.

:func:`start_node` starts a node inside the running event loop and returns a
:class:`RunningNode` (tests use it with ``listen = "127.0.0.1:0"``);
:func:`serve_forever` is what ``allelemesh node serve`` runs, with signal handling
(SIGTERM/SIGINT stop gracefully, SIGHUP reloads rebuilt indexes) and ``--workers N``
processes sharing one port through SO_REUSEPORT. The parent holds the port's lock
(:mod:`mesh.plumbing.ports`), so no other process can join them on that port.
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

from mesh.config import NodeConfig
from mesh.errors import ConfigError, IndexBuildError, IndexStoreError
from mesh.federation import FederationSettings, LocalSource, MeshBackend
from mesh.model.paging import PageTokenCodec
from mesh.model.reference import FastaReference
from mesh.plumbing.ports import PortLock
from mesh.security.identity import client_identity_of
from mesh.security.origin_token import OriginVerifier
from mesh.security.tiers import check_own_tier
from mesh.server import serving
from mesh.server.audit import AuditLog
from mesh.server.serving import GRACE_S, bind, check_transport, mark_serving, new_server
from mesh.tracing import Telemetry, setup_tracing, start_metrics_server
from nodes.serve.budgets import BudgetLedger
from nodes.serve.index_metrics import IndexMetrics
from nodes.serve.lookup import LocalLookup, NodeIdentity
from nodes.serve.policy import policy_from_config
from nodes.serve.servicers import NodeServicers
from nodes.serve.store import IndexStore

log = logging.getLogger(__name__)


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
        if self.lookup.budgets is not None:
            self.lookup.budgets.close()
        if self.audit is not None:
            self.audit.close()
        if self.metrics_server is not None:
            self.metrics_server.close()
        if self.telemetry is not None:
            self.telemetry.shutdown()

    def reload(self) -> list[str]:
        """Pick up rebuilt indexes now; returns the ids of datasets that changed."""
        return self.store.reload_changed()


def federation_settings(config: NodeConfig, page_token_secret: bytes | None) -> FederationSettings:
    """A node's federation tunables; one page-token secret with its local lookups.

    ``--workers`` share ``page_token_secret``: a mesh-wide page token signed by one
    worker must be accepted by the others, like a local one.
    """
    return FederationSettings(
        timeout_s=config.timeout_ms / 1000.0,
        default_assembly=config.default_assembly,
        page_token_secret=page_token_secret,
    )


async def start_node(
    config: NodeConfig,
    *,
    insecure: bool = False,
    page_token_secret: bytes | None = None,
    shared_port: bool = False,
) -> RunningNode:
    """Open the indexes, bind the port and start serving.

    ``shared_port``: this is one of ``--workers`` whose parent holds the port lock.
    """
    check_transport(config.tls, insecure, "node")
    check_own_tier(config.tier, config.tls, "node")
    audit = AuditLog(config.audit_path) if config.audit_path is not None else None
    budgets = None
    if config.state_dir is not None and any(d.query_budget for d in config.datasets):
        budgets = BudgetLedger.in_state_dir(config.state_dir)
    try:
        # At start, an index or reference that cannot be opened is a configuration
        # problem (exit 2), like a bad key; later, a rebuilt index that fails is logged.
        store = IndexStore([(d.id, d.index, d.log_queries) for d in config.datasets])
        references = {a: FastaReference(path, a) for a, path in config.references.items()}
    except (IndexStoreError, IndexBuildError) as exc:
        raise ConfigError(exc.message) from None
    lookup = LocalLookup(
        store,
        NodeIdentity(config.id, config.country, config.beacon_id),
        default_assembly=config.default_assembly,
        references=references,
        page_tokens=PageTokenCodec(page_token_secret),
        max_batch_variants=config.max_batch_variants,
        policies={d.id: policy_from_config(d) for d in config.datasets},
        budgets=budgets,
        catalog_visibility=config.catalog_visibility,
    )
    telemetry = setup_tracing(
        config.tracing, "allelemesh-node", config.id, config.country, tier=config.tier
    )
    telemetry.registry.register(IndexMetrics(store))  # builds and versions on /metrics
    verifier = _origin_verifier(config)
    servicers = NodeServicers(
        lookup, log_queries=config.log_queries, audit=audit, verifier=verifier
    )
    if config.peers:
        # The same engine as the gateway; this node's datasets are one of its sources.
        servicers.mesh = MeshBackend.open(
            config.peers,
            tls=config.tls,
            local=LocalSource(config.id, config.country, servicers.answer_locally),
            settings=federation_settings(config, page_token_secret),
            telemetry=telemetry,
        )
    server, health_servicer = new_server(
        servicers.handlers(),
        telemetry,
        max_concurrent_rpcs=config.max_concurrent_rpcs,
        reuse_port=shared_port,
        tls=config.tls,
    )
    try:
        port = bind(server, config.listen, config.tls, "node")
        metrics_server = None
        if config.metrics.listen:
            metrics_server = await start_metrics_server(
                telemetry, config.metrics.listen, reuse_port=shared_port
            )
    except ConfigError:
        # Nothing started yet: release what was opened so the process exits cleanly.
        await server.stop(None)
        if servicers.mesh is not None:
            await servicers.mesh.close()
        store.close()
        telemetry.shutdown()
        raise
    await server.start()
    await mark_serving(health_servicer)
    reloader = asyncio.create_task(_watch_indexes(store, config.reload_interval_s))
    if servicers.mesh is not None:
        # Peers may start after us: fetch their catalogues in the background.
        await servicers.mesh.start(wait=False)
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


def _origin_verifier(config: NodeConfig) -> OriginVerifier | None:
    """Checks forwarding tokens addressed to us (None: plaintext, or no identity of our own)."""
    if config.tls is None:
        return None
    try:
        return OriginVerifier(client_identity_of(config.tls))
    except ConfigError as error:  # peers refuse such a node anyway; it trusts no forwarder
        log.warning("forwarded origins will not be trusted: %s", error.message)
        return None


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


async def _serve(config: NodeConfig, insecure: bool, secret: bytes, shared: bool = False) -> None:
    node = await start_node(config, insecure=insecure, page_token_secret=secret, shared_port=shared)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, node.reload)
    await stop.wait()
    log.info("node %s stopping", config.id)
    await node.stop()


def _worker_main(config: NodeConfig, insecure: bool, secret: bytes, log_level: str) -> None:
    from mesh.plumbing.logs import configure_logging

    configure_logging(log_level, json_lines=config.log_json)
    asyncio.run(_serve(config, insecure, secret, shared=True))


def preflight(config: NodeConfig) -> PortLock | None:
    """What ``node serve`` refuses to start without: live certificates and free ports.

    Returns the lock of the gRPC port, held for the process's life.
    """
    return serving.preflight(
        config.tls,
        ("[node].listen", config.listen),
        f"node {config.id}",
        [("[metrics].listen", config.metrics.listen or "")],
    )


def serve_forever(config: NodeConfig, *, insecure: bool = False, log_level: str = "INFO") -> None:
    """Run the node until SIGTERM/SIGINT, in ``config.workers`` processes."""
    # One signing secret for every worker, so a page token from one is valid at another.
    secret = PageTokenCodec().secret
    if config.workers > 1 and config.listen.endswith(":0"):
        raise ConfigError("node: --workers needs a fixed port in listen, not port 0")
    lock = preflight(config)  # the port lock is held until this process exits
    if config.workers == 1:
        asyncio.run(_serve(config, insecure, secret))
        return
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
    if lock is not None:
        lock.release()
