"""``mesh.v1`` messages as JSON objects, field for field.

Names are the proto field names and enums their proto names, as
``MessageToDict(preserving_proto_field_name=True)`` writes them; but every field is
written (a zero count is a count, a count the dataset did not give is ``null``), and
64-bit integers stay JSON numbers (the proto JSON mapping makes them strings, which no
portal wants to parse).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import any_pb2, json_format
from google.rpc import error_details_pb2, status_pb2

from mesh.errors import code_name
from mesh.model.genome import Assembly
from mesh.v1 import allele_pb2, catalog_service_pb2

JsonObject = dict[str, Any]


def precision_name(value: int) -> str:
    """``COUNT_PRECISION_EXACT`` etc. for a ``CountPrecision`` value."""
    return str(allele_pb2.CountPrecision.Name(value))


def assembly_name(value: int) -> str:
    """``GRCh38`` for ``ASSEMBLY_GRCH38``, ``""`` when unspecified."""
    if value == allele_pb2.ASSEMBLY_UNSPECIFIED:
        return ""
    return Assembly.from_proto(value).value


def variant_json(variant: allele_pb2.Variant) -> JsonObject:
    """A ``mesh.v1.Variant`` (1-based position)."""
    return {
        "chromosome": variant.chromosome,
        "position": int(variant.position),
        "reference_bases": variant.reference_bases,
        "alternate_bases": variant.alternate_bases,
    }


def _present(counts: allele_pb2.AlleleCounts, name: str) -> int | None:
    """A count, or ``None`` (JSON ``null``) when the dataset did not give it."""
    return int(getattr(counts, name)) if counts.HasField(name) else None  # type: ignore[arg-type]


def counts_json(counts: allele_pb2.AlleleCounts) -> JsonObject:
    """A ``mesh.v1.AlleleCounts``: an unknown count is ``null``, never 0."""
    frequency = counts.HasField("allele_frequency")
    return {
        "allele_count": _present(counts, "allele_count"),
        "allele_number": _present(counts, "allele_number"),
        "allele_frequency": float(counts.allele_frequency) if frequency else None,
        "homozygous_count": _present(counts, "homozygous_count"),
        "heterozygous_count": _present(counts, "heterozygous_count"),
        "hemizygous_count": _present(counts, "hemizygous_count"),
        "precision": precision_name(counts.precision),
    }


def filter_values(frequency: allele_pb2.VariantFrequency) -> list[str]:
    """The record's VCF FILTER values, ``["PASS"]`` for a passing one: the one HTTP rule.

    ``mesh.v1`` sends no value for PASS (``VariantFrequency.filters``: empty means PASS,
    which keeps stored records short); every HTTP answer (JSON API, Beacon, pages)
    spells it out through this one function, so none of them can read as "unfiltered".
    """
    return list(frequency.filters) or ["PASS"]


def frequency_json(frequency: allele_pb2.VariantFrequency) -> JsonObject:
    """A ``mesh.v1.VariantFrequency``."""
    return {
        "variant": variant_json(frequency.variant),
        "dataset_id": frequency.dataset_id,
        "node_id": frequency.node_id,
        "country": frequency.country,
        "counts": counts_json(frequency.counts),
        "populations": populations_json(frequency.populations),
        "filters": filter_values(frequency),
        "extras": extras_json(frequency),
    }


def extras_json(frequency: allele_pb2.VariantFrequency) -> JsonObject | None:
    """The source's grpmax/faf95 (``FrequencyExtras``); ``null`` when none were released.

    An extra the source did not give is ``null`` (never 0); ``faf95`` maps labels (``""``:
    the total) to the source's value.
    """
    if not frequency.HasField("extras"):
        return None
    extras = frequency.extras
    out: JsonObject = {
        f.name: getattr(extras, f.name) if extras.HasField(f.name) else None
        for f in extras.DESCRIPTOR.fields
        if f.name != "faf95"
    }
    out["faf95"] = dict(sorted(extras.faf95.items()))
    return out


def populations_json(populations: Iterable[allele_pb2.PopulationFrequency]) -> list[JsonObject]:
    """Population rows (a dataset's, or the pooled ones) as ``{population, counts}``."""
    return [{"population": p.population, "counts": counts_json(p.counts)} for p in populations]


def status_json(status: status_pb2.Status) -> JsonObject:
    """A ``google.rpc.Status`` as ``{code, code_name, message}``."""
    code = int(status.code)
    return {
        "code": code,
        "code_name": code_name(code),
        "message": status.message,
    }


def outcome_json(outcome: allele_pb2.NodeOutcome) -> JsonObject:
    """A ``mesh.v1.NodeOutcome``; ``datasets``: that node's datasets that gave no rows, why."""
    return {
        "node_id": outcome.node_id,
        "country": outcome.country,
        "status": status_json(outcome.status),
        "latency_ms": round(float(outcome.latency_ms), 3),
        "frequency_count": int(outcome.frequency_count),
        "datasets": [dataset_outcome_json(d) for d in outcome.datasets],
    }


def dataset_outcome_json(outcome: allele_pb2.DatasetOutcome) -> JsonObject:
    """A ``mesh.v1.DatasetOutcome``, with ``retry_after_s`` when the status says when."""
    entry: JsonObject = {"dataset_id": outcome.dataset_id, "status": status_json(outcome.status)}
    for detail in outcome.status.details:
        retry = error_details_pb2.RetryInfo()
        if detail.Unpack(retry):
            entry["retry_after_s"] = round(retry.retry_delay.ToNanoseconds() / 1e9, 3)
    return entry


def outcomes_from_details(details: list[any_pb2.Any]) -> list[allele_pb2.NodeOutcome]:
    """The ``NodeOutcome`` messages packed in a status's details (an all-nodes-failed error)."""
    outcomes = []
    for detail in details:
        outcome = allele_pb2.NodeOutcome()
        if detail.Unpack(outcome):
            outcomes.append(outcome)
    return outcomes


def dataset_json(dataset: catalog_service_pb2.Dataset) -> JsonObject:
    """A ``mesh.v1.Dataset``; ``created_time`` as RFC 3339 (empty when unset).

    An entry its node shows by existence only has ``existence_only: true`` and no
    other fields than its id, node and country: withheld is absent, never 0 or empty.
    """
    if dataset.existence_only:
        return existence_only_json(dataset)
    created = dataset.created_time.ToJsonString() if dataset.HasField("created_time") else ""
    return {
        "id": dataset.id,
        "title": dataset.title,
        "description": dataset.description,
        "assembly": assembly_name(dataset.assembly),
        "node_id": dataset.node_id,
        "country": dataset.country,
        "sample_count": int(dataset.sample_count),
        "variant_count": int(dataset.variant_count),
        "populations": list(dataset.populations),
        "created_time": created,
        "source_sha256": dataset.source_sha256,
        # The publishable (FAIR Data Point) metadata, as the node's metadata file says it.
        "metadata": (
            json_format.MessageToDict(dataset.metadata, preserving_proto_field_name=True)
            if dataset.HasField("metadata")
            else None
        ),
    }


def existence_only_json(dataset: catalog_service_pb2.Dataset) -> JsonObject:
    """What a caller may know of a dataset it may not query (``[node] catalog_visibility``)."""
    return {
        "id": dataset.id,
        "node_id": dataset.node_id,
        "country": dataset.country,
        "existence_only": True,
    }
