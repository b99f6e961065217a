"""``health``, ``latency`` and ``contract``: does the peer serve, how fast, and which ``mesh.v1``.

``contract`` asks the peer's server reflection for every ``mesh.v1`` method we call and
compares it with the descriptors we were built with: the same request and response
message names, and every field of those messages (recursively) with the same number,
type and cardinality. A field the peer has and we do not is fine (a newer peer); one it
lacks or types differently is named, since our requests or its answers would be
misread without any error.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time

import grpc
from google.protobuf import descriptor, descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from mesh.check._model import PeerReport, Status
from mesh.config import TlsConfig
from mesh.plumbing.channels import open_channel
from mesh.v1 import allele_service_pb2, catalog_service_pb2

# The reflection client logs every file it loads at INFO: noise in a check's output.
logging.getLogger("grpc_reflection.v1alpha.proto_reflection_descriptor_database").setLevel(
    logging.WARNING
)

#: The ``mesh.v1`` methods allelemesh calls on a peer.
CALLED_METHODS: tuple[tuple[descriptor.ServiceDescriptor, tuple[str, ...]], ...] = (
    (
        allele_service_pb2.DESCRIPTOR.services_by_name["AlleleFrequencyService"],
        ("LookupVariant", "BatchLookupVariants", "SearchRegion", "LookupVariantId"),
    ),
    (
        catalog_service_pb2.DESCRIPTOR.services_by_name["CatalogService"],
        ("ListDatasets", "GetDataset"),
    ),
)


async def check_health(report: PeerReport, channel: grpc.aio.Channel, timeout_s: float) -> bool:
    """The server's gRPC health: SERVING."""
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
    except grpc.aio.AioRpcError as error:
        report.add(
            "health", Status.FAIL, f"health check failed: {error.code().name}: {error.details()}"
        )
        return False
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        report.add("health", Status.FAIL, f"{name}: the peer is up but not serving; see its logs")
        return False
    report.add("health", Status.OK, "SERVING")
    return True


async def check_latency(
    report: PeerReport,
    channel: grpc.aio.Channel,
    warn_ms: float,
    timeout_s: float,
    samples: int = 5,
) -> None:
    """p50 of a few health calls; ``warn`` above ``warn_ms``."""
    stub = health_pb2_grpc.HealthStub(channel)
    took = []
    for _ in range(samples):
        started = time.perf_counter()
        try:
            await stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            report.add("latency", Status.FAIL, f"health call failed: {error.code().name}")
            return
        took.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(took)
    if p50 > warn_ms:
        report.add(
            "latency",
            Status.WARN,
            f"p50 {p50:.1f} ms over {samples} health calls, above {warn_ms:g} ms: "
            "check the network path or the peer's load",
        )
    else:
        report.add("latency", Status.OK, f"p50 {p50:.1f} ms over {samples} health calls")


def _cardinality(field: descriptor.FieldDescriptor) -> str:
    return "repeated" if field.is_repeated else "singular"


def _type_name(field: descriptor.FieldDescriptor) -> str:
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return str(field.type)


def compare_message(
    ours: descriptor.Descriptor, theirs: descriptor.Descriptor, seen: set[str], problems: list[str]
) -> None:
    """Append a problem for every field of ``ours`` that ``theirs`` lacks or types otherwise."""
    if ours.full_name in seen:
        return
    seen.add(ours.full_name)
    for field in ours.fields:
        other = theirs.fields_by_name.get(field.name)
        if other is None:
            problems.append(f"field {field.full_name} (= {field.number}) is missing")
            continue
        if other.number != field.number:
            problems.append(
                f"field {field.full_name} is number {other.number}, we use {field.number}"
            )
        elif (_type_name(other), _cardinality(other)) != (_type_name(field), _cardinality(field)):
            problems.append(
                f"field {field.full_name} is {_cardinality(other)} {_type_name(other)}, "
                f"we use {_cardinality(field)} {_type_name(field)}"
            )
        elif field.message_type is not None and other.message_type is not None:
            compare_message(field.message_type, other.message_type, seen, problems)


def contract_problems(pool: descriptor_pool.DescriptorPool) -> list[str]:
    """What the peer's descriptors (``pool``) lack of the ``mesh.v1`` we call."""
    problems: list[str] = []
    seen: set[str] = set()
    for service, methods in CALLED_METHODS:
        try:
            theirs = pool.FindServiceByName(service.full_name)
        except KeyError:
            problems.append(f"service {service.full_name} is missing")
            continue
        for name in methods:
            ours = service.methods_by_name[name]
            other = theirs.methods_by_name.get(name)
            if other is None:
                problems.append(f"method {ours.full_name} is missing")
                continue
            for what, mine, its in (
                ("request", ours.input_type, other.input_type),
                ("response", ours.output_type, other.output_type),
            ):
                if mine.full_name != its.full_name:
                    problems.append(
                        f"method {ours.full_name} {what} is {its.full_name}, "
                        f"we use {mine.full_name}"
                    )
                else:
                    compare_message(mine, its, seen, problems)
    return problems


def _reflect(address: str, tls: TlsConfig | None, timeout_s: float) -> list[str]:
    channel = open_channel(address, tls)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout_s)
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        return contract_problems(pool)
    finally:
        channel.close()


async def check_contract(report: PeerReport, tls: TlsConfig | None, timeout_s: float) -> None:
    """Server reflection against the ``mesh.v1`` descriptors we were built with."""
    try:
        problems = await asyncio.wait_for(
            asyncio.to_thread(_reflect, report.address, tls, timeout_s), timeout_s
        )
    except grpc.RpcError as error:
        code = error.code().name if hasattr(error, "code") else "ERROR"
        report.add(
            "contract",
            Status.FAIL,
            f"server reflection unavailable ({code}): cannot tell which mesh.v1 the peer speaks",
        )
        return
    except (TimeoutError, grpc.FutureTimeoutError):
        report.add(
            "contract", Status.FAIL, f"server reflection did not answer within {timeout_s:g} s"
        )
        return
    if problems:
        report.add(
            "contract",
            Status.FAIL,
            f"peer speaks an older or different mesh.v1: {'; '.join(problems)}; upgrade the peer",
        )
        return
    count = sum(len(m) for _, m in CALLED_METHODS)
    report.add("contract", Status.OK, f"all {count} mesh.v1 methods we call match, field by field")
