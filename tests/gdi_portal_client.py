"""The GDI user portal's side of the call, written from its contract, not from our code.

``shared/gdi-portal/README.md`` says what the portal's backend
(gdi-userportal-dataset-discovery-service) sends and reads; this module does the same:
:func:`exact_body` / :func:`range_body` are its request bodies (generated Java models,
defaults included), :func:`portal_rows` is its mapping of an answer, and
:func:`validate` checks an answer against the component schemas of its OpenAPI
contract (``gvariants.yaml``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import yaml
from jsonschema import Draft7Validator

from tests.shared_files import shared_path


def _body(parameters: dict[str, Any], limit: int) -> dict[str, Any]:
    return {
        "meta": {"apiVersion": "2.0"},
        "query": {
            "filters": [],
            "includeResultsetResponses": "HIT",
            "requestedGranularity": "record",
            "testMode": False,
            "pagination": {"skip": 0, "limit": limit},
            "requestParameters": parameters,
        },
    }


def exact_body(
    chrom: str, pos: int, ref: str, alt: str, assembly: str | None = "GRCh38", *, end: bool = False
) -> dict[str, Any]:
    """An exact-variant query: flat parameters, ``start`` a one-element 0-based array,
    ``limit`` 1; ``assemblyId`` left out when the user left it empty."""
    parameters: dict[str, Any] = {
        "referenceName": chrom,
        "start": [pos - 1],
        "referenceBases": ref,
        "alternateBases": alt,
    }
    if end:
        parameters["end"] = [pos - 1 + len(ref)]
    if assembly is not None:
        parameters["assemblyId"] = assembly
    return _body(parameters, 1)


def range_body(chrom: str, start0: int, end0: int, assembly: str | None = "GRCh38") -> dict:
    """A position-only range (``start`` and ``end``, no bases): sent with ``limit`` 1000."""
    parameters: dict[str, Any] = {"referenceName": chrom, "start": [start0], "end": [end0]}
    if assembly is not None:
        parameters["assemblyId"] = assembly
    return _body(parameters, 1000)


@dataclass(frozen=True)
class PortalRow:
    """One row the portal shows: a population's frequency of a variant in a dataset."""

    beacon_id: str
    dataset_id: str
    chromosome: str
    start: int  # interval.start.value (0-based)
    end: int
    ref: str
    alt: str
    population: str
    allele_frequency: float | None
    allele_count: float | None
    allele_number: float | None
    homozygous: float | None
    heterozygous: float | None
    hemizygous: float | None
    source: str | None
    source_reference: str | None


def _chromosome(sequence_id: str) -> str:
    """``HGVSid:21:g.9411239G>A`` → ``21``; a bare reference name as it is."""
    if sequence_id.startswith("HGVSid:"):
        return sequence_id.split(":")[1]
    return sequence_id


def portal_rows(answer: dict[str, Any]) -> list[PortalRow]:
    """The rows the portal reads: every result set, every result with frequencies, every
    frequency (a missing number is ``None``, as in the Java model)."""
    rows = []
    for result_set in answer.get("response", {}).get("resultSets", []):
        for result in result_set.get("results", []):
            populations = result.get("frequencyInPopulations") or []
            if not populations:
                continue  # rows whose result has no frequencies are dropped
            variation = result["variation"]
            location = variation["location"]
            interval = location["interval"]
            for entry in populations:
                for f in entry["frequencies"]:
                    rows.append(
                        PortalRow(
                            beacon_id=result_set.get("beaconId"),
                            dataset_id=result_set.get("id"),
                            chromosome=_chromosome(location["sequence_id"]),
                            start=interval["start"]["value"],
                            end=interval["end"]["value"],
                            ref=variation["referenceBases"],
                            alt=variation["alternateBases"],
                            population=f.get("population"),
                            allele_frequency=f.get("alleleFrequency"),
                            allele_count=f.get("alleleCount"),
                            allele_number=f.get("alleleNumber"),
                            homozygous=f.get("alleleCountHomozygous"),
                            heterozygous=f.get("alleleCountHeterozygous"),
                            hemizygous=f.get("alleleCountHemizygous"),
                            source=entry.get("source"),
                            source_reference=entry.get("sourceReference"),
                        )
                    )
    return rows


@functools.cache
def _components() -> dict[str, Any]:
    document = yaml.safe_load(shared_path("gdi-portal", "gvariants.yaml").read_text("utf-8"))
    components: dict[str, Any] = document["components"]
    return components


def validate(document: Any, schema: str = "BeaconResponse") -> None:
    """Raise ``AssertionError`` listing every way ``document`` breaks the contract."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": _components()}
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(root).iter_errors(document)
    ]
    assert not problems, "\n".join(problems[:20])
