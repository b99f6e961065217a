"""``GET /v1/mesh/status``: this gateway's tier and its last continuous ``mesh check``.

What the pages show in their tier banner (anything but production) and their mesh view::

    {"tier": "staging", "environment": "test",
     "check": {"ok": false, "tier": "staging", "peers": [...], "finished_at": "2026-..."}}

Canary details (they name variant coordinates) are not published here. ``check`` is
null until the first run (``[gateway] mesh_check_interval_s`` after start)
and when the continuous check is off.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from gateway.http.settings import HttpSettings
from mesh.security.tiers import beacon_environment

router = APIRouter(prefix="/v1", tags=["JSON API"])


@router.get("/mesh/status", summary="This gateway's tier and last mesh check")
async def mesh_status(request: Request) -> dict[str, Any]:
    """The tier, Beacon environment and the last mesh check result per peer address."""
    settings: HttpSettings = request.app.state.settings
    monitor = getattr(request.app.state, "mesh_check", None)
    report = monitor.last if monitor is not None else None
    check: dict[str, Any] | None = None
    if report is not None:
        check = report.to_json()
        for peer in check["peers"]:
            for result in peer["checks"]:
                if result["name"] == "canary" and result["status"] != "skip":
                    # Canary details name variant coordinates: not for every HTTP client.
                    result["detail"] = (
                        "details name variants: run `allelemesh mesh check` as an operator"
                    )
        check["finished_at"] = dt.datetime.fromtimestamp(report.finished_at, dt.UTC).isoformat()
    return {"tier": settings.tier, "environment": beacon_environment(settings.tier), "check": check}
