"""``allelemesh mesh check``: find a broken peer before a researcher does.

Run from the identity of a node or gateway (its ``[tls]`` and tier) against every
address of every ``[[peers]]`` entry, concurrently, each check with its own timeout:

========== ==========================================================================
reachable  TCP connect, then the gRPC channel ready
tls        mTLS handshake with our trust bundle
identity   the peer's SPIFFE ID is the configured one (or its country's node default)
certificate days until the peer's and our own certificate expire (warn < 30, fail expired)
tier       the peer's certified tier is ours (:mod:`mesh.security.tiers`)
health     gRPC health SERVING
contract   server reflection: every ``mesh.v1`` method we call, field by field
catalogue  at least one dataset, known assemblies, ids unique across the mesh
canary     direct and mesh answers agree; counts self-consistent; GDI labels
latency    p50 of a few health calls (warn above a threshold)
========== ==========================================================================

Statuses are ``ok``, ``warn``, ``fail`` and ``skip`` (a check not run, and why: on a
plaintext mesh the four certificate checks are ``skip``; a peer refused by identity or
tier is never asked anything else). :func:`run_mesh_check` returns a
:class:`MeshReport` (``to_json()`` is the ``--json`` shape); :class:`MeshCheckMonitor`
runs it every few minutes in the gateway and exports ``mesh_check_status{peer,check}``.
"""

from mesh.check._model import CHECKS, METRIC_VALUE, CheckResult, MeshReport, PeerReport, Status
from mesh.check._monitor import MeshCheckMonitor
from mesh.check._runner import CheckSettings, run_mesh_check

__all__ = [
    "CHECKS",
    "METRIC_VALUE",
    "CheckResult",
    "CheckSettings",
    "MeshCheckMonitor",
    "MeshReport",
    "PeerReport",
    "Status",
    "run_mesh_check",
]
