"""``/docs``: Swagger UI over ``/openapi.json``, every asset served by the gateway (no CDN).

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN and start
Swagger UI with an inline script; the Content-Security-Policy of
:mod:`gateway.http.security` (``script-src 'self'``) refuses both. So they are off, and
this page loads the Swagger UI distribution shipped in the ``fastapi-offline`` wheel
(pinned in ``pyproject.toml``) from ``/docs/assets/`` and starts it from
``/static/docs-init.js``, one of the page assets of :mod:`gateway.pages`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
#: Swagger UI's files: swagger-ui-bundle.js, swagger-ui.css, favicon.png.
SWAGGER_UI_DIR = Path(str(files("fastapi_offline") / "static"))

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>allelemesh HTTP API</title>
<link rel="icon" href="{ASSETS_PATH}/favicon.png">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/static/docs-init.js"></script>
</body>
</html>
"""


def mount_docs(app: FastAPI) -> None:
    """Serve the Swagger UI page at ``/docs`` (create the app with ``docs_url=None``)."""

    async def docs() -> HTMLResponse:
        return HTMLResponse(_PAGE, headers={"Cache-Control": "no-cache"})

    app.add_api_route(DOCS_PATH, docs, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_PATH, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
