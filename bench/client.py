"""The bench's gRPC client: pre-encoded requests, raw-bytes calls, latency loops.

Requests are serialized before timing starts and responses are kept as bytes (parsed
only to check them), so the numbers are the service's, not the client's protobuf work.
The client always runs in the bench process, the servers in their own processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

import grpc

from bench.data import SampledAllele
from bench.procs import TlsFiles
from mesh.plumbing.channels import CHANNEL_OPTIONS
from mesh.plumbing.rpc import ALLELE_SERVICE
from mesh.security.tls import channel_credentials
from mesh.v1 import allele_pb2, allele_service_pb2

SERVICE = f"/{ALLELE_SERVICE}/"


def variant_message(allele: SampledAllele) -> allele_pb2.Variant:
    """The wire ``Variant`` of a sampled allele (as written in the VCF)."""
    return allele_pb2.Variant(
        chromosome=allele.chrom,
        position=allele.pos,
        reference_bases=allele.ref,
        alternate_bases=allele.alt,
    )


def lookup_requests(alleles: Sequence[SampledAllele], *, mesh: bool = False) -> list[bytes]:
    """One serialized ``LookupVariantRequest`` per allele."""
    scope = allele_pb2.SCOPE_MESH if mesh else allele_pb2.SCOPE_UNSPECIFIED
    return [
        allele_service_pb2.LookupVariantRequest(
            assembly=allele_pb2.ASSEMBLY_GRCH38, variant=variant_message(a), scope=scope
        ).SerializeToString()
        for a in alleles
    ]


def batch_requests(alleles: Sequence[SampledAllele], size: int) -> list[bytes]:
    """Serialized ``BatchLookupVariantsRequest`` of ``size`` variants each."""
    out = []
    for start in range(0, len(alleles) - size + 1, size):
        out.append(
            allele_service_pb2.BatchLookupVariantsRequest(
                assembly=allele_pb2.ASSEMBLY_GRCH38,
                variants=[variant_message(a) for a in alleles[start : start + size]],
            ).SerializeToString()
        )
    return out


def _credentials(tls: TlsFiles | None) -> grpc.ChannelCredentials | None:
    return channel_credentials(tls.config()) if tls else None


def sync_channel(address: str, tls: TlsFiles | None) -> grpc.Channel:
    """A blocking channel (plaintext or mTLS)."""
    creds = _credentials(tls)
    if creds is None:
        return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    return grpc.secure_channel(address, creds, options=CHANNEL_OPTIONS)


def aio_channel(address: str, tls: TlsFiles | None) -> grpc.aio.Channel:
    """An asyncio channel (plaintext or mTLS)."""
    creds = _credentials(tls)
    if creds is None:
        return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    return grpc.aio.secure_channel(address, creds, options=CHANNEL_OPTIONS)


@dataclass
class Timing:
    """Per-call latencies (seconds) and the wall time of the whole loop."""

    latencies: list[float]
    wall: float
    last_response: bytes = b""

    @property
    def calls_per_second(self) -> float:
        """Completed calls per second of wall time."""
        return len(self.latencies) / self.wall if self.wall > 0 else 0.0


def sequential(
    address: str,
    tls: TlsFiles | None,
    method: str,
    requests: Sequence[bytes],
    calls: int,
    *,
    warmup: int = 200,
    timeout_s: float = 10.0,
) -> Timing:
    """``calls`` blocking calls one after another (cycling through ``requests``)."""
    with sync_channel(address, tls) as channel:
        call = channel.unary_unary(SERVICE + method)
        for i in range(min(warmup, calls)):
            call(requests[i % len(requests)], timeout=timeout_s)
        latencies = []
        response = b""
        clock = time.perf_counter
        started = clock()
        for i in range(calls):
            t0 = clock()
            response = call(requests[i % len(requests)], timeout=timeout_s)
            latencies.append(clock() - t0)
        return Timing(latencies, clock() - started, response)


def alternating(
    targets: Sequence[tuple[str, Sequence[bytes]]],
    tls: TlsFiles | None,
    method: str,
    calls: int,
    *,
    block: int = 50,
    warmup: int = 20,
    timeout_s: float = 10.0,
) -> list[Timing]:
    """``calls`` blocking calls to each ``(address, requests)``, alternating blocks.

    An A/B in the same minute: on a shared machine, load that comes and goes lands on
    every target alike, so their ratio is steadier than that of runs one after another.
    """
    with contextlib.ExitStack() as stack:
        stubs = []
        for address, _ in targets:
            channel = stack.enter_context(sync_channel(address, tls))
            stubs.append(channel.unary_unary(SERVICE + method))
        for stub, (_, requests) in zip(stubs, targets, strict=True):
            for i in range(warmup):
                stub(requests[i % len(requests)], timeout=timeout_s)
        timings = [Timing([], 0.0) for _ in targets]
        clock = time.perf_counter
        for start in range(0, calls, block):
            for stub, (_, requests), timing in zip(stubs, targets, timings, strict=True):
                began = clock()
                for i in range(start, min(calls, start + block)):
                    t0 = clock()
                    timing.last_response = stub(requests[i % len(requests)], timeout=timeout_s)
                    timing.latencies.append(clock() - t0)
                timing.wall += clock() - began
        return timings


async def _concurrent(
    address: str,
    tls: TlsFiles | None,
    method: str,
    requests: Sequence[bytes],
    calls: int,
    inflight: int,
    warmup: int,
    timeout_s: float,
) -> Timing:
    async with aio_channel(address, tls) as channel:
        call = channel.unary_unary(SERVICE + method)
        await asyncio.gather(
            *(call(requests[i % len(requests)], timeout=timeout_s) for i in range(warmup))
        )
        latencies: list[float] = []
        clock = time.perf_counter
        counter = iter(range(calls))
        last = [b""]

        async def worker() -> None:
            for i in counter:
                t0 = clock()
                last[0] = await call(requests[i % len(requests)], timeout=timeout_s)
                latencies.append(clock() - t0)

        started = clock()
        await asyncio.gather(*(worker() for _ in range(inflight)))
        return Timing(latencies, clock() - started, last[0])


def concurrent(
    address: str,
    tls: TlsFiles | None,
    method: str,
    requests: Sequence[bytes],
    calls: int,
    inflight: int,
    *,
    warmup: int = 200,
    timeout_s: float = 30.0,
) -> Timing:
    """``calls`` calls from a grpc.aio client keeping ``inflight`` of them in flight."""
    return asyncio.run(
        _concurrent(address, tls, method, requests, calls, inflight, warmup, timeout_s)
    )
