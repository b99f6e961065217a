"""The INFO fields ``annotate`` writes: their names, header lines and values.

One *group* per country (``--by country``) or dataset (``--by dataset``), plus ``MESH``
(the pooled answer the target computed). Each field is ``<FIELD>_<GROUP>`` (and
``<FIELD>_<GROUP>_<POPULATION>`` with ``--populations``; ``_MESH_<POPULATION>`` is the
target's pooled row of that label, present when more than one dataset reports it),
``Number=A``: one value per ALT, ``.`` where a count is unknown, suppressed, or the
variant was not found there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mesh.errors import InvalidArgumentError
from mesh.federation import pool_counts
from mesh.v1 import allele_pb2, allele_service_pb2

#: ``--fields`` name -> (AlleleCounts field, VCF Type, description).
FIELDS: dict[str, tuple[str, str, str]] = {
    "AF": ("allele_frequency", "Float", "Alternate allele frequency"),
    "AC": ("allele_count", "Integer", "Alternate allele count"),
    "AN": ("allele_number", "Integer", "Total number of alleles"),
    "HOM": ("homozygous_count", "Integer", "Count of homozygous individuals"),
    "HET": ("heterozygous_count", "Integer", "Count of heterozygous individuals"),
    "HEMI": ("hemizygous_count", "Integer", "Count of hemizygous individuals"),
}
DEFAULT_FIELDS = ("AF", "AC", "AN")
POOLED = "MESH"
_SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
_INFO_KEY = re.compile(r"[A-Za-z_][0-9A-Za-z_.]*")

Value = int | float | None


def parse_fields(text: str) -> tuple[str, ...]:
    """``AF,AC,AN`` -> the field names, each one of :data:`FIELDS`."""
    names = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = [n for n in names if n not in FIELDS]
    if unknown or not names:
        raise InvalidArgumentError(
            "--fields",
            f"unknown field(s) {', '.join(unknown) or '(none given)'}; choose from "
            f"{', '.join(FIELDS)}",
        )
    return names


def info_key(*parts: str) -> str:
    """An INFO key from its parts; characters VCF forbids in keys become ``_``."""
    return re.sub(r"[^0-9A-Za-z_.]", "_", "_".join(parts))


@dataclass(frozen=True)
class Column:
    """One INFO field: its key, which counts it reads, and from which group/population."""

    key: str
    field: str
    group: str
    population: str
    header: dict[str, str]


def plan_columns(
    fields: Sequence[str], groups: Sequence[str], populations: Sequence[str], by: str, assembly: str
) -> list[Column]:
    """Every column, groups in the given order, then the pooled ``MESH`` group."""
    columns: list[Column] = []
    seen: dict[str, str] = {}
    for group in [*groups, POOLED]:
        for population in ["", *populations]:
            for name in fields:
                _attr, kind, text = FIELDS[name]
                key = info_key(name, group, population) if population else info_key(name, group)
                where = (
                    "pooled over every dataset that answered"
                    if group == POOLED
                    else (f"{by} {group}")
                )
                label = f", population {population}" if population else ""
                what = f"{group}/{population or 'total'}"
                if key in seen and seen[key] != what:
                    raise InvalidArgumentError(
                        "--by", f"{seen[key]} and {what} would both be written as INFO/{key}"
                    )
                seen[key] = what
                if not _INFO_KEY.fullmatch(key):
                    raise InvalidArgumentError("--populations", f"{key!r} is no VCF INFO key")
                columns.append(
                    Column(
                        key,
                        name,
                        group,
                        population,
                        {
                            "ID": key,
                            "Number": "A",
                            "Type": kind,
                            "Description": f"{text} in {where}{label} (allelemesh, {assembly})",
                        },
                    )
                )
    return columns


def _value(counts: allele_pb2.AlleleCounts, field: str) -> Value:
    if counts.precision == _SUPPRESSED:
        return None
    attr = FIELDS[field][0]
    if counts.HasField(attr):  # type: ignore[arg-type]
        value: int | float = getattr(counts, attr)
        return value
    if field == "AF" and counts.HasField("allele_count") and counts.HasField("allele_number"):
        return counts.allele_count / counts.allele_number if counts.allele_number else None
    return None


def _of_population(
    frequency: allele_pb2.VariantFrequency, population: str
) -> allele_pb2.AlleleCounts | None:
    if not population:
        return frequency.counts
    for entry in frequency.populations:
        if entry.population == population:
            return entry.counts
    return None


def values_of(
    result: allele_service_pb2.VariantLookupResult, columns: Sequence[Column], by: str
) -> list[Value]:
    """One value per column for one ALT's lookup result."""
    grouped: dict[str, list[allele_pb2.VariantFrequency]] = {}
    for frequency in result.frequencies:
        group = frequency.country if by == "country" else frequency.dataset_id
        grouped.setdefault(group, []).append(frequency)
    values: list[Value] = []
    cache: dict[tuple[str, str], allele_pb2.AlleleCounts | None] = {}
    for column in columns:
        slot = (column.group, column.population)
        if slot not in cache:
            cache[slot] = _counts_of(result, grouped, column)
        counts = cache[slot]
        values.append(None if counts is None else _value(counts, column.field))
    return values


def _counts_of(
    result: allele_service_pb2.VariantLookupResult,
    grouped: dict[str, list[allele_pb2.VariantFrequency]],
    column: Column,
) -> allele_pb2.AlleleCounts | None:
    if column.group == POOLED:
        # Found nowhere: nothing is known (the pooled zeros are not a count of zero).
        if not result.frequencies:
            return None
        if not column.population:
            return result.pooled
        # Only labels more than one dataset reports are pooled (mesh.federation).
        for entry in result.pooled_populations:
            if entry.population == column.population:
                return entry.counts
        return None
    rows = grouped.get(column.group)
    if not rows:
        return None
    parts = [c for c in (_of_population(f, column.population) for f in rows) if c is not None]
    if not parts:
        return None
    # Several datasets of one country: the federation's pooling rule, not a second copy.
    return parts[0] if len(parts) == 1 else pool_counts(parts)
