"""TLS credentials for mesh servers and clients (mutual TLS).

Servers require a client certificate that chains to the trust bundle; clients
present their own certificate and verify the server against the same bundle.
"""

from __future__ import annotations

import grpc

from mesh.config import TlsConfig


def _read(paths: tuple[object, ...]) -> bytes:
    return b"".join(open(str(p), "rb").read() for p in paths)


def trust_bundle(tls: TlsConfig) -> bytes:
    """Concatenated PEM of every trusted CA."""
    return _read(tls.ca)


def server_credentials(tls: TlsConfig) -> grpc.ServerCredentials:
    """Server credentials that demand a client certificate from the trust bundle."""
    return grpc.ssl_server_credentials(
        [(_read((tls.key,)), _read((tls.cert,)))],
        root_certificates=trust_bundle(tls),
        require_client_auth=True,
    )


def channel_credentials(tls: TlsConfig) -> grpc.ChannelCredentials:
    """Client credentials presenting this process's certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=trust_bundle(tls),
        private_key=_read((tls.key,)),
        certificate_chain=_read((tls.cert,)),
    )
