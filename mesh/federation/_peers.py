"""Peers: one reused grpc.aio channel per replica address, a breaker and hedging each.

Channels are opened once when the registry is built and closed with it; calls send
raw bytes (no decode/re-encode in the client) with the hop metadata, so a peer
answers from its own datasets only. Errors come back as :class:`SourceCallError`
with the peer's ``google.rpc.Status`` (details from ``grpc-status-details-bin``
kept).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.config import PeerConfig, TlsConfig
from mesh.errors import MeshError, status_of
from mesh.federation._breaker import BreakerSettings, CircuitBreaker
from mesh.federation._hedging import HedgeSettings, LatencyWindow, ReplicaStats, hedged
from mesh.federation._sources import METHOD_PATHS, SourceCallError
from mesh.plumbing import callctx
from mesh.plumbing.callctx import HOP_METADATA_KEY
from mesh.plumbing.channels import CHANNEL_OPTIONS
from mesh.security.identity import SpiffeId, client_identity_of
from mesh.security.origin_signing import OriginSigner
from mesh.security.origin_token import ORIGIN_TOKEN_KEY
from mesh.security.tls import (
    CredentialWatcher,
    PeerIdentityVerifier,
    channel_credentials,
    expected_peer_identity,
)
from mesh.tracing import outgoing_metadata

log = logging.getLogger(__name__)

#: Reconnect quickly after a peer restarts: gRPC's default backoff grows to 120 s,
#: far longer than a country node's restart.
PEER_CHANNEL_OPTIONS: tuple[tuple[str, int | str], ...] = (
    *CHANNEL_OPTIONS,
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)


@dataclass(frozen=True)
class PeerSettings:
    """Defaults for every peer of one process."""

    timeout_s: float = 5.0
    breaker: BreakerSettings = field(default_factory=BreakerSettings)
    hedge: HedgeSettings = field(default_factory=HedgeSettings)


def _open_channel(address: str, tls: TlsConfig | None) -> grpc.aio.Channel:
    if tls is None:
        return grpc.aio.insecure_channel(address, options=PEER_CHANNEL_OPTIONS)
    return grpc.aio.secure_channel(address, channel_credentials(tls), options=PEER_CHANNEL_OPTIONS)


def _outgoing_metadata(
    signer: OriginSigner | None, audience: SpiffeId | None, method: str, request: bytes
) -> tuple[tuple[str, str | bytes], ...]:
    """Hop count (the peer never fans out again), whom we ask for (signed), trace context.

    With mTLS every call carries a forwarding token (:mod:`mesh.security.origin_token`) naming the
    principal this request is answered for, made for this request and this peer only.
    """
    base: tuple[tuple[str, str], ...] = ((HOP_METADATA_KEY, "1"),)
    if signer is not None and audience is not None:
        call = callctx.current()
        # Outside any request (catalogue refresh, probes) we ask for ourselves.
        origin = signer.own_principal if call is callctx.ANONYMOUS else call.principal
        token = signer.sign(origin, audience, METHOD_PATHS[method], request, call.trace_id)
        if token is not None:
            base += ((ORIGIN_TOKEN_KEY, token),)
    # W3C traceparent of the current (peer) span, so the node continues this trace.
    return outgoing_metadata(base)


class ClientCredentials:
    """Our own ``[tls]`` files, watched: a change bumps the generation (client rotation).

    Channels remember the generation they were opened with; a replica whose channel is
    older opens a new one before its next call, so a rotated client certificate is used
    for new connections without a restart.
    """

    def __init__(self, tls: TlsConfig | None, *, min_interval_s: float = 1.0) -> None:
        self.tls = tls
        self._watcher = CredentialWatcher(tls, min_interval_s=min_interval_s) if tls else None
        self.generation = 0

    def current(self) -> int:
        """The generation now (checks the files at most once per interval)."""
        if self._watcher is not None and self._watcher.changed():
            self.generation += 1
            log.info("client certificate files changed: reopening peer channels")
        return self.generation


#: How long a replaced channel may finish in-flight calls before it is closed.
_OLD_CHANNEL_GRACE_S = 10.0


class _Replica:
    def __init__(self, index: int, address: str, credentials: ClientCredentials) -> None:
        self.index = index
        self.address = address
        self._credentials = credentials
        self._closing: set[asyncio.Task[None]] = set()
        self._open()

    def _open(self) -> None:
        self.generation = self._credentials.generation
        self.channel = _open_channel(self.address, self._credentials.tls)
        self.methods = {name: self.channel.unary_unary(path) for name, path in METHOD_PATHS.items()}

    def refresh(self) -> None:
        """Reopen the channel if our certificate rotated since it was opened."""
        if self._credentials.current() == self.generation:
            return
        old = self.channel
        self._open()
        task = asyncio.get_running_loop().create_task(old.close(_OLD_CHANNEL_GRACE_S))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


class PeerSource:
    """A peer node (or gateway) reached over its replica channels.

    With mTLS, each replica's certificate must carry the identity the registry names
    (``identity``, by default any node of the peer's country): a peer presenting
    another identity is refused before any request reaches it, and reported as its
    outcome (``PERMISSION_DENIED``). Verification is cached by the verifier, so it
    costs one extra handshake per replica per cache period, not one per request.
    """

    def __init__(
        self,
        config: PeerConfig,
        tls: TlsConfig | None,
        settings: PeerSettings,
        verifier: PeerIdentityVerifier | None = None,
        trust_domain: str = "",
        credentials: ClientCredentials | None = None,
        signer: OriginSigner | None = None,
    ) -> None:
        self.config = config
        self._verifier = verifier
        self._signer = signer
        #: The SPIFFE ID (or pattern) the peer's certificate must carry.
        self.identity = (
            expected_peer_identity(config, trust_domain) if verifier else config.identity
        )
        self._timeout_s = (
            config.timeout_ms / 1000.0 if config.timeout_ms is not None else settings.timeout_s
        )
        credentials = credentials or ClientCredentials(tls)
        self._replicas = [_Replica(i, a, credentials) for i, a in enumerate(config.addresses)]
        self._stats = ReplicaStats(len(self._replicas))
        self._latency = LatencyWindow(settings.hedge.window)
        self._hedge = settings.hedge
        self.breaker = CircuitBreaker(config.id, settings.breaker, self.check_health)
        #: Second requests sent (for metrics and tests).
        self.hedges = 0

    @property
    def id(self) -> str:
        """The peer's node id."""
        return self.config.id

    @property
    def country(self) -> str:
        """The peer's country."""
        return self.config.country

    @property
    def timeout_s(self) -> float:
        """The peer's own ``timeout_ms`` (or the process default), in seconds."""
        return self._timeout_s

    @property
    def addresses(self) -> Sequence[str]:
        """Replica addresses in configuration order."""
        return self.config.addresses

    def hedge_after_s(self) -> float | None:
        """How long the first replica gets before a second request; None: no hedging."""
        if len(self._replicas) < 2:
            return None
        settings = self._hedge
        if len(self._latency) < settings.min_samples:
            return settings.floor_s
        return max(settings.floor_s, self._latency.p95())

    async def call(self, method: str, request: bytes, *, deadline: float) -> bytes:
        """Call ``method`` on the fastest replica, hedging to another if it lags."""
        if not self.breaker.allow():
            raise SourceCallError.of(grpc.StatusCode.UNAVAILABLE, "circuit open")
        started = time.perf_counter()
        try:
            if len(self._replicas) == 1:  # nothing to hedge or fail over to
                data = await self._attempt(self._replicas[0], method, request, deadline)
            else:
                data = await self._hedged(method, request, deadline)
        except SourceCallError as error:
            self.breaker.record(error.code)
            raise
        self.breaker.record(grpc.StatusCode.OK)
        self._latency.add(time.perf_counter() - started)
        return data

    async def _hedged(self, method: str, request: bytes, deadline: float) -> bytes:
        order = [self._replicas[i] for i in self._stats.order()]

        async def attempt(replica: _Replica) -> bytes:
            return await self._attempt(replica, method, request, deadline)

        def count_hedge() -> None:
            self.hedges += 1

        return await hedged(
            order, attempt, hedge_after_s=self.hedge_after_s(), on_hedge=count_hedge
        )

    async def _attempt(
        self, replica: _Replica, method: str, request: bytes, deadline: float
    ) -> bytes:
        timeout = deadline - asyncio.get_running_loop().time()
        if timeout <= 0:
            raise SourceCallError.of(grpc.StatusCode.DEADLINE_EXCEEDED, "no time left to ask")
        replica.refresh()
        audience = None
        if self._verifier is not None:
            try:
                audience = await self._verifier.verify(
                    replica.address, self.identity, timeout=min(timeout, 5.0)
                )
            except MeshError as error:
                raise SourceCallError(error.to_status()) from None
        started = time.perf_counter()
        try:
            data: bytes = await replica.methods[method](
                request,
                timeout=timeout,
                metadata=_outgoing_metadata(self._signer, audience, method, request),
            )
        except grpc.aio.AioRpcError as error:
            self._stats.observe(replica.index, max(timeout, time.perf_counter() - started))
            raise SourceCallError(status_of(error)) from None
        except asyncio.CancelledError:
            # Lost a hedge race: what we know is that it took at least this long.
            self._stats.observe(replica.index, time.perf_counter() - started)
            raise
        self._stats.observe(replica.index, time.perf_counter() - started)
        return data

    async def check_health(self, timeout: float) -> bool:
        """True when any replica answers ``grpc.health.v1`` Check with ``SERVING``."""
        for replica in self._replicas:
            stub = health_pb2_grpc.HealthStub(replica.channel)
            try:
                response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
            except grpc.aio.AioRpcError:
                continue
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return True
        return False

    async def close(self) -> None:
        """Stop probing and close every channel."""
        await self.breaker.aclose()
        for replica in self._replicas:
            await replica.channel.close()


def open_peers(
    peers: Sequence[PeerConfig], tls: TlsConfig | None, settings: PeerSettings
) -> list[PeerSource]:
    """One :class:`PeerSource` per ``[[peers]]`` entry, channels opened once."""
    if tls is None:
        return [PeerSource(peer, None, settings) for peer in peers]
    verifier = PeerIdentityVerifier(tls)
    trust_domain = client_identity_of(tls).trust_domain
    credentials = ClientCredentials(tls)  # one watcher for every peer's channels
    signer = OriginSigner(tls)
    return [
        PeerSource(peer, tls, settings, verifier, trust_domain, credentials, signer)
        for peer in peers
    ]
