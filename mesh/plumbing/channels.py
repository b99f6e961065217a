"""Client channels to nodes and gateways, plaintext or mutual TLS."""

from __future__ import annotations

import grpc

from mesh.config import TlsConfig
from mesh.security.tls import channel_credentials

#: Keepalive within gRPC servers' default limits (min ping interval 10 s without data
#: is what allelemesh servers permit; stock servers allow 5 min, so stay at 30 s+).
CHANNEL_OPTIONS: tuple[tuple[str, int | str], ...] = (
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.enable_retries", 0),
)


def open_channel(target: str, tls: TlsConfig | None) -> grpc.Channel:
    """A blocking channel (for command-line tools)."""
    if tls is None:
        return grpc.insecure_channel(target, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(target, channel_credentials(tls), options=CHANNEL_OPTIONS)


def open_aio_channel(target: str, tls: TlsConfig | None) -> grpc.aio.Channel:
    """An asyncio channel (for servers that call peers)."""
    if tls is None:
        return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
    return grpc.aio.secure_channel(target, channel_credentials(tls), options=CHANNEL_OPTIONS)
