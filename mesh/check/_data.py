"""``catalogue`` and ``canary``: what a peer holds, and whether its answers add up.

``canary`` looks up a few variants (``--canary``, or the first ones the peer's own region
search returns) on the peer directly and through the mesh (our own process asked with
``SCOPE_MESH`` for the peer's datasets), and requires the two answers to agree exactly
and every row to be self-consistent: AC <= AN, AF = AC/AN, hom/het/hemi <= AC, every
population's AN <= the dataset total's, and population labels that are GDI labels
(``Total``, ``NO``, ``M``, ``NO_M``, ``NFE_M``: letters and digits joined by ``_``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import grpc

from mesh.check._model import PeerReport, Status
from mesh.errors import InvalidArgumentError
from mesh.model.genome import CHROMOSOMES, Assembly, contig_length
from mesh.model.notation import parse_variant
from mesh.model.variants import variant_to_proto
from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    catalog_service_pb2,
    catalog_service_pb2_grpc,
)

_LABEL = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$")
#: Variants the canary samples from a peer's own region search when none is given.
SAMPLED = 3
_EXACT = (allele_pb2.COUNT_PRECISION_UNSPECIFIED, allele_pb2.COUNT_PRECISION_EXACT)


async def check_catalogue(
    report: PeerReport, channel: grpc.aio.Channel, timeout_s: float
) -> list[catalog_service_pb2.Dataset]:
    """At least one dataset, each with a known assembly and an id (uniqueness: the runner)."""
    stub = catalog_service_pb2_grpc.CatalogServiceStub(channel)
    datasets: list[catalog_service_pb2.Dataset] = []
    token = ""
    try:
        for _ in range(100):  # bounded paging
            reply = await stub.ListDatasets(
                catalog_service_pb2.ListDatasetsRequest(
                    page_size=1000, page_token=token, scope=allele_pb2.SCOPE_LOCAL
                ),
                timeout=timeout_s,
            )
            datasets.extend(reply.datasets)
            token = reply.next_page_token
            if not token:
                break
    except grpc.aio.AioRpcError as error:
        report.add(
            "catalogue", Status.FAIL, f"ListDatasets failed: {error.code().name}: {error.details()}"
        )
        return []
    problems = []
    for index, dataset in enumerate(datasets):
        if not dataset.id:
            problems.append(f"dataset #{index + 1} has an empty id")
        if dataset.assembly == allele_pb2.ASSEMBLY_UNSPECIFIED:
            problems.append(f"dataset {dataset.id or index + 1!r} has no known assembly")
    report.dataset_ids = tuple(d.id for d in datasets if d.id)
    if not datasets:
        report.add(
            "catalogue",
            Status.FAIL,
            "the peer lists no dataset: check its [[datasets]] and index directories",
        )
    elif problems:
        report.add("catalogue", Status.FAIL, "; ".join(problems))
    else:
        report.add(
            "catalogue", Status.OK, f"{len(datasets)} datasets: {', '.join(report.dataset_ids)}"
        )
    return datasets


def row_problems(row: allele_pb2.VariantFrequency) -> list[str]:
    """Why one answer row cannot be right (empty: self-consistent)."""
    problems = []
    where = f"dataset {row.dataset_id}"

    def counts_problems(counts: allele_pb2.AlleleCounts, what: str) -> None:
        ac = counts.allele_count if counts.HasField("allele_count") else None
        an = counts.allele_number if counts.HasField("allele_number") else None
        if ac is not None and an is not None and ac > an:
            problems.append(f"{what}: AC {ac} > AN {an}")
        if (
            ac is not None
            and an
            and counts.HasField("allele_frequency")
            and counts.precision in _EXACT
            and not math.isclose(counts.allele_frequency, ac / an, rel_tol=1e-9, abs_tol=1e-12)
        ):
            problems.append(f"{what}: AF {counts.allele_frequency:g} != AC/AN {ac}/{an}")
        if ac is not None:
            for name in ("homozygous_count", "heterozygous_count", "hemizygous_count"):
                if counts.HasField(name) and getattr(counts, name) > ac:
                    problems.append(f"{what}: {name} {getattr(counts, name)} > AC {ac}")

    counts_problems(row.counts, where)
    total_an = row.counts.allele_number if row.counts.HasField("allele_number") else None
    for population in row.populations:
        label = population.population
        if not _LABEL.match(label):
            problems.append(f"{where}: population label {label!r} is not a GDI label")
        counts_problems(population.counts, f"{where} population {label}")
        if (
            total_an is not None
            and population.counts.HasField("allele_number")
            and population.counts.allele_number > total_an
        ):
            problems.append(
                f"{where} population {label}: AN {population.counts.allele_number} "
                f"> total AN {total_an}"
            )
    return problems


def _assembly(datasets: Sequence[catalog_service_pb2.Dataset]) -> Assembly:
    for dataset in datasets:
        try:
            return Assembly.from_proto(dataset.assembly)
        except InvalidArgumentError:
            continue
    return Assembly.GRCH38


async def _sample(
    stub: allele_service_pb2_grpc.AlleleFrequencyServiceStub, assembly: Assembly, timeout_s: float
) -> list[allele_pb2.Variant]:
    """The first few variants the peer's own region search returns."""
    found: list[allele_pb2.Variant] = []
    for chromosome in CHROMOSOMES:
        reply = await stub.SearchRegion(
            allele_service_pb2.SearchRegionRequest(
                assembly=assembly.to_proto(),
                region=allele_pb2.Region(
                    chromosome=chromosome, start=1, end=contig_length(chromosome, assembly)
                ),
                page_size=SAMPLED,
                scope=allele_pb2.SCOPE_LOCAL,
            ),
            timeout=timeout_s,
        )
        for row in reply.frequencies:
            if row.variant not in found:
                found.append(row.variant)
        if len(found) >= SAMPLED:
            break
    return found[:SAMPLED]


def _fingerprint(rows: Sequence[allele_pb2.VariantFrequency], datasets: set[str]) -> list[bytes]:
    return sorted(r.SerializeToString(deterministic=True) for r in rows if r.dataset_id in datasets)


def _name(variant: allele_pb2.Variant) -> str:
    v = variant
    return f"{v.chromosome}-{v.position}-{v.reference_bases}-{v.alternate_bases}"


async def check_canary(
    report: PeerReport,
    channel: grpc.aio.Channel,
    datasets: Sequence[catalog_service_pb2.Dataset],
    canaries: Sequence[str],
    mesh_channel: grpc.aio.Channel | None,
    timeout_s: float,
) -> None:
    """Direct and mesh answers agree, and each row is self-consistent."""
    stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
    assembly = _assembly(datasets)
    try:
        if canaries:
            variants = [
                variant_to_proto(parse_variant(c, assembly, field="--canary")) for c in canaries
            ]
        else:
            variants = await _sample(stub, assembly, timeout_s)
    except InvalidArgumentError as error:
        report.add("canary", Status.FAIL, error.message)
        return
    except grpc.aio.AioRpcError as error:
        report.add(
            "canary", Status.FAIL, f"SearchRegion failed: {error.code().name}: {error.details()}"
        )
        return
    if not variants:
        report.add(
            "canary", Status.SKIP, "no variant to look up: the peer's region search is empty"
        )
        return
    ids = {d.id for d in datasets}
    problems: list[str] = []
    compared = mesh_channel is not None
    for variant in variants:
        name = _name(variant)
        request = allele_service_pb2.LookupVariantRequest(
            assembly=assembly.to_proto(), variant=variant, scope=allele_pb2.SCOPE_LOCAL
        )
        try:
            direct = await stub.LookupVariant(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            problems.append(f"{name}: direct lookup failed: {error.code().name}")
            continue
        problems.extend(f"{name}: {p}" for r in direct.frequencies for p in row_problems(r))
        if mesh_channel is None:
            continue
        mesh_request = allele_service_pb2.LookupVariantRequest(
            assembly=assembly.to_proto(),
            variant=variant,
            dataset_ids=sorted(ids),
            scope=allele_pb2.SCOPE_MESH,
        )
        try:
            via_mesh = await allele_service_pb2_grpc.AlleleFrequencyServiceStub(
                mesh_channel
            ).LookupVariant(mesh_request, timeout=timeout_s)
        except grpc.aio.AioRpcError as error:
            compared = False
            problems.append(f"{name}: lookup through the mesh failed: {error.code().name}")
            continue
        if _fingerprint(direct.frequencies, ids) != _fingerprint(via_mesh.frequencies, ids):
            problems.append(f"{name}: the peer's direct answer and the mesh's answer differ")
    if problems:
        report.add("canary", Status.FAIL, "; ".join(problems))
        return
    how = (
        "direct and through the mesh agree"
        if compared
        else "direct answers self-consistent (mesh not compared)"
    )
    report.add(
        "canary",
        Status.OK,
        f"{len(variants)} variants ({', '.join(_name(v) for v in variants)}): {how}",
    )
