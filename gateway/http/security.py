"""The HTTP API's outermost layer: security headers on every answer, the public origin.

:class:`EdgeMiddleware` wraps the whole app (errors, ``/metrics`` and the pages too):

* every response carries :data:`SECURITY_HEADERS` (a route that sets one of them,
  such as its own ``Content-Security-Policy``, keeps its value). The policy admits
  only the gateway's own scripts, styles, images (and ``data:`` images) and fetches,
  and no framing: what the browser page and the local Swagger UI need, nothing more;
* the request's ``Host`` (and scheme) are replaced by those of the configured public
  URL before the app sees them, so nothing the app builds from the request (Starlette's
  trailing-slash redirects, ``request.base_url``) can echo an address the caller chose.
  Answers that print the gateway's address take it from
  :func:`gateway.http.settings.public_base_url` (configuration only).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Everything a page loads comes from the gateway itself; nothing may frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


@lru_cache(maxsize=8)
def _origin(public_url: str) -> tuple[str, bytes]:
    parts = urlsplit(public_url)
    return parts.scheme, parts.netloc.encode("idna")


class EdgeMiddleware:
    """Pure ASGI middleware; see the module docstring.

    The public URL is read from ``app.state.public_url`` on each request: when none is
    configured, the server sets it once it knows the address it listens on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public_url = getattr(scope["app"].state, "public_url", "") if "app" in scope else ""
        if public_url:
            scheme, host = _origin(public_url)
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope = {**scope, "scheme": scheme, "headers": [(b"host", host), *headers]}

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secured)
