"""gRPC core's own log lines, routed into our logging: TLS handshake failures with the peer.

gRPC core (C++) writes to file descriptor 2 in its own format and, when a client's TLS
handshake fails, says why but not who (grpc/grpc#32893). Its ``handshaker`` tracer
does name the peer. So a serving process:

1. runs with ``GRPC_TRACE`` including ``handshaker`` (:func:`ensure_handshake_trace`
   re-executes the process once, same pid, because gRPC reads it at import);
2. points fd 2 at a pipe (:func:`route_grpc_core_logs`) read by a thread: a failed
   server-side handshake becomes one JSON log line
   ``{"message": "TLS handshake from 10.0.0.9:51234 failed: certificate has expired",
   "event": "tls_handshake_failed", "peer": "10.0.0.9:51234", "reason": ...}``, other
   gRPC lines go to the ``grpc.core`` logger at their level (the tracer's chatter at
   DEBUG), and anything else written to fd 2 (htslib, a crash) passes through as is.

Python's own ``sys.stderr`` keeps writing to the original stderr, so a log record
never goes round through the pipe.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from typing import BinaryIO

log = logging.getLogger("grpc.core")

#: Set in the environment once the process runs with the handshake tracer.
_TRACE_ENV = "GRPC_TRACE"
_REEXEC_MARK = "ALLELEMESH_GRPC_TRACE_SET"

# I1201 09:55:12.899896   31745 ssl_transport_security.cc:2563] message
_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ ([\w.]+):\d+\] ?(.*)$")
_PEER = re.compile(r"grpc\.internal\.endpoint_peer_address=(?:ipv[46]:)?([^,}]+)")
_LEVELS = {"I": logging.DEBUG, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
#: BoringSSL reasons in words (the rest are shown as gRPC gives them).
_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "the client sent no certificate",
    "WRONG_VERSION_NUMBER": "not TLS (a plaintext client?)",
    "BAD_PACKET_LENGTH": "not TLS (a plaintext client?)",
    "HTTP_REQUEST": "plain HTTP on the TLS port",
}

_installed = False


def ensure_handshake_trace() -> None:
    """Re-execute this process (same pid and arguments) with the ``handshaker`` tracer on.

    A no-op when it is already on. ``ALLELEMESH_GRPC_TRACE=0`` turns all this off.
    """
    if os.environ.get("ALLELEMESH_GRPC_TRACE") == "0" or os.environ.get(_REEXEC_MARK):
        return
    traces = [t for t in os.environ.get(_TRACE_ENV, "").split(",") if t]
    if "handshaker" in traces:
        return
    os.environ[_TRACE_ENV] = ",".join([*traces, "handshaker"])
    os.environ[_REEXEC_MARK] = "1"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)  # noqa: S606 - our own argv, re-run as is


def reason_of(error: str) -> str:
    """``certificate has expired`` from gRPC's ``UNKNOWN: Ssl handshake failed ...: OK``."""
    text = error.strip().removesuffix(": OK").strip()
    if "OPENSSL_internal:" in text:
        text = text.rsplit("OPENSSL_internal:", 1)[1]
    code, _, detail = text.partition(": ")
    if code in _REASONS:
        return _REASONS[code]
    if code == "CERTIFICATE_VERIFY_FAILED" and detail:
        return detail
    return text


class _Router:
    """Reads what fd 2 receives; turns gRPC core lines into log records."""

    def __init__(self, source: BinaryIO, passthrough: int) -> None:
        self.source, self.passthrough = source, passthrough
        self.pending: str | None = None  # a failed handshake waiting for its args line

    def run(self) -> None:
        for raw in self.source:
            try:
                self.handle(raw.decode("utf-8", "replace").rstrip("\n"))
            except Exception:  # never let one odd line stop the routing
                os.write(self.passthrough, raw)

    def handle(self, line: str) -> None:
        if self.pending is not None and line.startswith(" shutdown="):
            error, self.pending = self.pending, None
            if "grpc.internal.server_credentials" in line:  # our server's side
                peer_match = _PEER.search(line)
                peer = peer_match.group(1) if peer_match else "unknown"
                reason = reason_of(error)
                log.warning(
                    "TLS handshake from %s failed: %s",
                    peer,
                    reason,
                    extra={
                        "fields": {"event": "tls_handshake_failed", "peer": peer, "reason": reason}
                    },
                )
            return
        match = _LINE.match(line)
        if match is None:
            os.write(self.passthrough, (line + "\n").encode())
            return
        level, source, message = match.groups()
        if source == "handshaker.cc" and "error=" in message:
            error = message.split("error=", 1)[1]
            if not error.startswith("OK"):
                self.pending = error
            return
        if source == "ssl_transport_security.cc" and "Handshake failed" in message:
            return  # said with the peer by the handshaker line that follows
        log.log(_LEVELS.get(level, logging.INFO), "%s: %s", source, message)


def route_grpc_core_logs() -> None:
    """Point fd 2 at a pipe read by a routing thread (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    # Python writes straight to the original stderr: records never loop through the pipe.
    sys.stderr = os.fdopen(os.dup(original), "w", buffering=1, encoding="utf-8")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    router = _Router(os.fdopen(read_end, "rb"), original)
    threading.Thread(target=router.run, name="grpc-core-log", daemon=True).start()
