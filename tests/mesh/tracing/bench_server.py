"""A server for the benchmark, in its own process so its CPU time can be read alone.

``python -m tests.mesh.tracing.bench_server on|off`` prints its port, then serves until killed.
"""

from __future__ import annotations

import asyncio
import sys

from tests.mesh.tracing.helpers import make_telemetry, run_server


async def echo(request: bytes, context) -> bytes:
    return request


async def main(mode: str) -> None:
    telemetry = make_telemetry() if mode == "on" else None
    async with run_server(telemetry, {"Ping": echo}) as port:
        print(port, flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
