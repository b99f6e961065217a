"""Run every check against every address of every ``[[peers]]`` entry, concurrently."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import grpc

from mesh.check._data import check_canary, check_catalogue
from mesh.check._model import CHECKS, MeshReport, PeerReport, Status
from mesh.check._service import check_contract, check_health, check_latency
from mesh.check._transport import check_reachable, check_transport
from mesh.config import PeerConfig, TlsConfig
from mesh.plumbing.channels import open_aio_channel
from mesh.security.identity import client_identity_of
from mesh.v1 import catalog_service_pb2


@dataclass(frozen=True)
class CheckSettings:
    """Who checks (our TLS identity and tier) and how."""

    tls: TlsConfig | None
    tier: str
    #: Our own process (HOST:PORT), asked through the mesh by the canary; None: not compared.
    mesh_address: str | None = None
    canaries: tuple[str, ...] = ()
    #: Per check (one check may make a few calls within it).
    timeout_s: float = 5.0
    latency_warn_ms: float = 500.0


async def _bounded(
    report: PeerReport, name: str, work: Awaitable[object], timeout_s: float
) -> None:
    """Run one check; no answer within its timeout is that check's failure."""
    try:
        await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        if report.result(name) is None:
            report.add(name, Status.FAIL, f"no answer within {timeout_s:g} s")


def _finish(report: PeerReport, why_skipped: str) -> PeerReport:
    """Every check present once, in table order; the ones not run are ``skip``."""
    for name in CHECKS:
        if report.result(name) is None:
            report.add(name, Status.SKIP, why_skipped)
    report.checks.sort(key=lambda c: CHECKS.index(c.name))
    return report


async def check_address(
    peer: PeerConfig,
    address: str,
    settings: CheckSettings,
    trust_domain: str,
    mesh_channel: grpc.aio.Channel | None,
) -> PeerReport:
    """All checks of one address of one peer."""
    report = PeerReport(peer.id, peer.country, address)
    timeout = settings.timeout_s
    if not await check_reachable(report, timeout):
        return _finish(report, "not reachable")
    try:
        transport = await asyncio.wait_for(
            check_transport(report, peer, settings.tls, settings.tier, trust_domain, timeout),
            timeout * 2,
        )
    except TimeoutError:
        report.add("tls", Status.FAIL, f"TLS handshake did not finish within {timeout:g} s")
        return _finish(report, "TLS handshake did not finish")
    if not transport.may_ask:
        return _finish(report, f"not asked: {transport.why_not}")
    channel = open_aio_channel(address, settings.tls)
    try:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            report.replace(
                "reachable", Status.FAIL, "TCP connects, but the gRPC channel never became ready"
            )
            return _finish(report, "gRPC channel not ready")
        await _bounded(report, "health", check_health(report, channel, timeout), timeout)
        await _bounded(report, "contract", check_contract(report, settings.tls, timeout), timeout)
        datasets: list[catalog_service_pb2.Dataset] = []

        async def catalogue() -> None:
            datasets.extend(await check_catalogue(report, channel, timeout))

        await _bounded(report, "catalogue", catalogue(), timeout)
        if datasets:
            canary = check_canary(
                report, channel, datasets, settings.canaries, mesh_channel, timeout
            )
            await _bounded(report, "canary", canary, timeout * 2)
        latency = check_latency(report, channel, settings.latency_warn_ms, timeout)
        await _bounded(report, "latency", latency, timeout)
    finally:
        await channel.close()
    return _finish(report, "no datasets to look up")


def _unique_datasets(reports: Sequence[PeerReport]) -> None:
    """Dataset ids must be unique across the mesh (replicas of one peer share theirs)."""
    owners: dict[str, set[str]] = {}
    for report in reports:
        for dataset_id in report.dataset_ids:
            owners.setdefault(dataset_id, set()).add(report.id)
    for report in reports:
        clashes = sorted(
            f"{d} (also listed by {', '.join(sorted(owners[d] - {report.id}))})"
            for d in report.dataset_ids
            if len(owners[d]) > 1
        )
        if clashes and report.status("catalogue") is Status.OK:
            report.replace(
                "catalogue",
                Status.FAIL,
                f"dataset ids not unique across the mesh: {'; '.join(clashes)}; rename one",
            )


async def _mesh_channel(settings: CheckSettings) -> grpc.aio.Channel | None:
    if settings.mesh_address is None:
        return None
    channel = open_aio_channel(settings.mesh_address, settings.tls)
    try:
        await asyncio.wait_for(channel.channel_ready(), min(settings.timeout_s, 2.0))
    except TimeoutError:
        await channel.close()
        return None
    return channel


async def run_mesh_check(peers: Sequence[PeerConfig], settings: CheckSettings) -> MeshReport:
    """Every check of every address of every peer, concurrently; one report."""
    trust_domain = client_identity_of(settings.tls).trust_domain if settings.tls is not None else ""
    mesh_channel = await _mesh_channel(settings)
    try:
        reports = await asyncio.gather(
            *(
                check_address(peer, address, settings, trust_domain, mesh_channel)
                for peer in peers
                for address in peer.addresses
            )
        )
    finally:
        if mesh_channel is not None:
            with contextlib.suppress(Exception):
                await mesh_channel.close()
    _unique_datasets(reports)
    return MeshReport(settings.tier, list(reports), finished_at=time.time())
