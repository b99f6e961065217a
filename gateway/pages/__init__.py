"""The allele frequency browser and dataset catalogue, served by the gateway.

Plain HTML, CSS and JavaScript modules from ``gateway/pages/static`` (package data):
no build step, no CDN. The page talks to the JSON API under ``/v1`` on the same
origin. :func:`mount_pages` adds two things to the HTTP app:

* ``GET /``: the single page (``index.html``); views are chosen by its query string
  (``/?q=1-55051215-G-GA&assembly=GRCh38``, ``/?q=1:55051000-55052000``,
  ``/?view=catalog``), so every view is linkable;
* ``/static/...``: the page's assets.

Call it after every API router is included, so ``/api``, ``/v1`` and ``/docs`` keep
their routes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount_pages(app: FastAPI, *, static_dir: Path = STATIC_DIR) -> None:
    """Serve the browser page at ``/`` and its assets under ``/static``."""
    index = static_dir / "index.html"
    # Content-Security-Policy and the other security headers come from the app's
    # outermost middleware (gateway.http.security), on these answers as on every other.
    headers = {"Cache-Control": "no-cache"}

    async def page() -> FileResponse:
        """The browser page; which view it shows is in its query string."""
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=headers)

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=static_dir), name="pages-static")
