"""Serving an ASGI app with uvicorn inside the running event loop (the gateway's).

:func:`serve` binds the socket itself, so ``"127.0.0.1:0"`` works and the bound port
is known before the first request, and it leaves the process's signal handlers alone:
the gateway owns SIGTERM/SIGINT and stops this server through :meth:`HttpServer.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Generator
from dataclasses import dataclass

import uvicorn
from cryptography.hazmat.primitives import serialization
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.http.protocol import DEFAULT_HEADER_TIMEOUT_S, protocol_class
from mesh.config import TlsConfig
from mesh.errors import ConfigError
from mesh.plumbing.ports import port_in_use
from mesh.security.tls import verified_chain

STOP_GRACE_S = 5.0


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that does not take over the process's signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class HttpServer:
    """A running HTTP server: its bound port, and how to stop it."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    async def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop accepting, let in-flight requests finish within ``grace``, then close."""
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), grace)
        except TimeoutError:
            self.server.force_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


def split_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"`` / ``"[::1]:0"`` to (host, port)."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise ConfigError(f"http_listen: {listen!r} must be HOST:PORT (IPv6 as [::1]:PORT)")
    return host.strip("[]"), int(port)


def server_ssl_context(tls: TlsConfig, *, require_client_cert: bool = True) -> ssl.SSLContext:
    """HTTPS verifying client certificates against the federation's trust bundle.

    ``require_client_cert=False`` (a gateway that accepts bearer tokens) lets callers
    without a certificate in; a certificate that is presented must still verify.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(tls.cert), str(tls.key))
    for ca in tls.ca:
        context.load_verify_locations(cafile=str(ca))
    context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


class _ClientCertificate:
    """ASGI wrapper giving each request the ``tls`` extension: the verified client chain."""

    def __init__(self, app: ASGIApp, chain: list[str]) -> None:
        self.app, self.chain = app, chain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = scope.setdefault("extensions", {})
        extensions["tls"] = {"client_cert_chain": self.chain}
        await self.app(scope, receive, send)


def _with_client_certificates(protocol: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """Uvicorn's HTTP protocol, passing each connection's client certificate to the app.

    uvicorn does not implement the ASGI TLS extension; the certificate is read from the
    connection once (``connection_made``) and attached to every request on it.
    """

    class WithClientCertificate(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            app: ASGIApp | None = getattr(self, "app", None)
            if der and app is not None:
                # Leaf first, then the intermediates OpenSSL verified it through: the trust
                # store needs the issuing country CA (mesh.security.trust).
                above = [
                    c.public_bytes(serialization.Encoding.PEM).decode("ascii")
                    for c in verified_chain(ssl_object)[1:]
                ]
                self.app = _ClientCertificate(app, [ssl.DER_cert_to_PEM_cert(der), *above])

    return WithClientCertificate


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP
    # (the protocol sets it too, whatever socket it is given).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise port_in_use("[gateway].http_listen", listen, str(exc.strerror or exc)) from None
    sock.setblocking(False)
    return sock


async def serve(
    app: ASGIApp,
    listen: str,
    ssl_context: ssl.SSLContext | None = None,
    *,
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
) -> HttpServer:
    """Start serving ``app`` on ``listen`` as a task of the running loop.

    Connections use :class:`gateway.http.protocol.HardenedH11Protocol`: ``TCP_NODELAY``,
    a request head must arrive within ``header_timeout_s``, ambiguous framing is refused.
    """
    host, port = split_listen(listen)
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        http=protocol_class(header_timeout_s),
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
    )
    config.load()
    # uvicorn builds its own context from file names; the caller's context wins here.
    config.ssl = ssl_context
    if ssl_context is not None:
        config.http_protocol_class = _with_client_certificates(config.http_protocol_class)
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"http {listen}")
    while not server.started:
        if task.done():
            sock.close()
            task.result()  # raises what startup raised
            raise ConfigError(f"http_listen: the HTTP server on {listen} did not start")
        await asyncio.sleep(0.01)
    bound = sock.getsockname()
    return HttpServer(server, task, host, int(bound[1]), ssl_context is not None)
