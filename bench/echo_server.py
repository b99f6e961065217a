"""A bare grpc.aio server answering every allele RPC with its request bytes.

The transport floor of the node figure: the same server options, the same TLS and the
same client, but no lookup work. ``python -m bench.echo_server ADDRESS [CA CERT KEY]``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import grpc


async def _echo(data: bytes, context: Any) -> bytes:
    return data


async def serve(address: str, tls: tuple[Path, Path, Path] | None) -> None:
    """Serve until killed."""
    from mesh.plumbing.rpc import ALLELE_SERVICE
    from mesh.server.serving import SERVER_OPTIONS

    server = grpc.aio.server(options=SERVER_OPTIONS)
    methods = ("LookupVariant", "BatchLookupVariants")
    handler = grpc.method_handlers_generic_handler(
        ALLELE_SERVICE,
        {m: grpc.unary_unary_rpc_method_handler(_echo) for m in methods},
    )
    server.add_generic_rpc_handlers((handler,))
    if tls is None:
        server.add_insecure_port(address)
    else:
        ca, cert, key = (p.read_bytes() for p in tls)
        creds = grpc.ssl_server_credentials(
            [(key, cert)], root_certificates=ca, require_client_auth=True
        )
        server.add_secure_port(address, creds)
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.wait_for_termination()


if __name__ == "__main__":
    paths = tuple(Path(p) for p in sys.argv[2:5])
    asyncio.run(serve(sys.argv[1], paths if len(paths) == 3 else None))  # type: ignore[arg-type]
