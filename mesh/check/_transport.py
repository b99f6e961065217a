"""``reachable``, ``tls``, ``identity``, ``certificate`` and ``tier``: who answers at an address.

The TLS checks use Python's ``ssl`` with our own client certificate and trust bundle
(gRPC Python never shows a client the server's certificate, see :mod:`mesh.security.tls`). When
the verified handshake fails, one more handshake that does not verify reads the leaf
anyway, so an expired certificate or one of another tier is named, not just "refused".
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

from cryptography import x509

from mesh.check._model import TLS_CHECKS, PeerReport, Status
from mesh.config import PeerConfig, TlsConfig
from mesh.errors import MeshError
from mesh.security.certificates import WARN_DAYS
from mesh.security.identity import SpiffeId, identity_pattern_matches, spiffe_id_of_certificate
from mesh.security.tiers import mismatch_message, tier_of_certificate
from mesh.security.tls import (
    client_ssl_context,
    expected_peer_identity,
    fetch_peer_certificate,
    load_material,
    split_address,
)
from mesh.security.trust import IdentityRefusedError, store_for

_DAY_S = 86_400.0


@dataclass
class Transport:
    """What the transport checks concluded: whether the other checks may ask this peer."""

    may_ask: bool
    why_not: str = ""


async def check_reachable(report: PeerReport, timeout_s: float) -> bool:
    """TCP connect (the gRPC channel is checked once TLS is known to work)."""
    host, port = split_address(report.address)
    started = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        report.add(
            "reachable",
            Status.FAIL,
            f"TCP connect to {report.address} failed: {reason}; is the peer running, "
            "and does a firewall let us through?",
        )
        return False
    writer.transport.abort()
    elapsed = (time.perf_counter() - started) * 1000
    report.add("reachable", Status.OK, f"TCP connect in {elapsed:.1f} ms")
    return True


def _unverified_context(tls: TlsConfig) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(tls.cert, tls.key)
    context.set_alpn_protocols(["h2"])
    return context


def _days(cert: x509.Certificate, now: float) -> float:
    return (cert.not_valid_after_utc.timestamp() - now) / _DAY_S


def _certificate(report: PeerReport, peer_cert: x509.Certificate, own: x509.Certificate) -> None:
    now = time.time()
    report.certificate_expiry_s = peer_cert.not_valid_after_utc.timestamp() - now
    worst, notes = Status.OK, []
    for whose, cert in (("peer", peer_cert), ("our own", own)):
        left = _days(cert, now)
        end = cert.not_valid_after_utc.strftime("%Y-%m-%d")
        if cert.not_valid_before_utc.timestamp() > now:
            worst = Status.FAIL
            notes.append(
                f"{whose} certificate is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d} (check clocks)"
            )
        elif left < 0:
            worst = Status.FAIL
            notes.append(
                f"{whose} certificate expired on {end}: renew it (allelemesh pki issue --replace)"
            )
        elif left < WARN_DAYS:
            worst = Status.WARN if worst is Status.OK else worst
            notes.append(f"{whose} certificate expires in {left:.0f} days ({end}): renew it soon")
        else:
            notes.append(f"{whose} certificate valid {left:.0f} more days")
    report.add("certificate", worst, "; ".join(notes))


def _identity(
    report: PeerReport, peer: PeerConfig, cert: x509.Certificate, chain: list[x509.Certificate],
    tls: TlsConfig, trust_domain: str,
) -> bool:  # fmt: skip
    expected = expected_peer_identity(peer, trust_domain)
    presented: SpiffeId | None = spiffe_id_of_certificate(cert)
    if presented is None:
        report.add("identity", Status.FAIL, "certificate has no single allelemesh SPIFFE ID")
        return False
    if not identity_pattern_matches(expected, presented):
        report.add(
            "identity",
            Status.FAIL,
            f"presented {presented}, expected {expected}: fix [[peers]] {peer.id!r} "
            "(identity, address) or the peer's certificate",
        )
        return False
    try:
        store_for(tls).check(cert, chain)
    except IdentityRefusedError as refusal:
        if refusal.reason != "TIER_MISMATCH":  # the tier check names that one
            report.add("identity", Status.FAIL, f"{presented} refused: {refusal.message}")
            return False
    report.add("identity", Status.OK, f"{presented} (expected {expected})")
    return True


async def check_transport(
    report: PeerReport,
    peer: PeerConfig,
    tls: TlsConfig | None,
    tier: str,
    trust_domain: str,
    timeout_s: float,
) -> Transport:
    """Run ``tls``, ``identity``, ``certificate`` and ``tier`` (all ``skip`` without TLS)."""
    if tls is None:
        for name in TLS_CHECKS:
            report.add(name, Status.SKIP, "plaintext mesh (--insecure): no certificates to check")
        return Transport(True)
    material = load_material(tls)
    verified = True
    try:
        cert, chain = await fetch_peer_certificate(
            report.address, client_ssl_context(material, tls), timeout_s
        )
        report.add("tls", Status.OK, "mTLS handshake verified against our trust bundle")
    except MeshError as error:
        verified = False
        report.add("tls", Status.FAIL, f"{error.message}; check both sides' [tls] files")
        try:
            cert, chain = await fetch_peer_certificate(
                report.address, _unverified_context(tls), timeout_s
            )
        except MeshError as again:
            for name in ("identity", "certificate", "tier"):
                report.add(name, Status.SKIP, f"no certificate seen: {again.message}")
            return Transport(False, "TLS handshake failed")
    identity_ok = _identity(report, peer, cert, chain, tls, trust_domain)
    _certificate(report, cert, material.leaf)
    peer_tier = tier_of_certificate(cert)
    if peer_tier != tier:
        report.add("tier", Status.FAIL, mismatch_message(f"peer {peer.id}", peer_tier, tier))
        return Transport(False, f"peer is in tier {peer_tier!r}: the mesh refuses it")
    report.add("tier", Status.OK, f"{peer_tier}, like us")
    if not verified:
        return Transport(False, "TLS handshake failed")
    if not identity_ok:
        return Transport(False, "identity refused: we never query an unexpected peer")
    return Transport(True)
