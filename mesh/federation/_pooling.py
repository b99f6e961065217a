"""Pooling: one ``AlleleCounts`` summed over every dataset that answered.

The rule, applied per variant over the ``VariantFrequency.counts`` of every dataset:

* ``EXACT`` counts (and ``UNSPECIFIED``, which older nodes send for exact counts) are
  summed: AC, AN, homozygous, heterozygous and hemizygous; AF = AC / AN (absent if AN
  is 0). A count absent from any contributing dataset is absent from the pool: a sum
  with an unknown part is unknown, not the sum of the others.
* ``ROUNDED`` counts are summed too, but the pooled precision becomes ``ROUNDED``:
  the sum of rounded numbers is itself only approximate.
* ``SUPPRESSED`` counts contribute nothing (they are withheld, not zero). If any
  other dataset contributed, the pooled precision is ``ROUNDED`` (the sum is a lower
  bound, not exact); if every dataset was suppressed it is ``SUPPRESSED``.
* A frequency without counts (an AF-only dataset: ``allele_frequency`` set, no AC
  and no AN) is skipped: it cannot be summed, and it must not make the others'
  sum unknown. It is said as a withheld part is: the pool is ``ROUNDED`` and a lower
  bound when another dataset contributed counts; with none, the pool has no counts.
* No frequencies at all pool to exact zeros.

:func:`pool_populations` applies the same rule per population label, to every label
that more than one dataset reports (exact match: ``M`` with ``M``, ``FR_M`` with
``FR_M``; never ``M`` with ``XY``); :func:`pool_countries` per country.
:func:`is_lower_bound` says which pools are lower bounds (a withheld part, others
released), the mark the HTTP answers carry beside ``ROUNDED``.
"""

from __future__ import annotations

from collections.abc import Iterable

from mesh.v1 import allele_pb2

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
#: The summed count fields of ``AlleleCounts``.
COUNT_FIELDS = (
    "allele_count",
    "allele_number",
    "homozygous_count",
    "heterozygous_count",
    "hemizygous_count",
)
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED


def pool_counts(counts: Iterable[allele_pb2.AlleleCounts]) -> allele_pb2.AlleleCounts:
    """Sum ``counts`` following the module's precision rule."""
    sums: dict[str, int | None] = dict.fromkeys(COUNT_FIELDS, 0)
    contributed = suppressed = rounded = frequency_only = False
    for item in counts:
        if item.precision == SUPPRESSED:
            suppressed = True
            continue
        if is_frequency_only(item):
            frequency_only = True
            continue
        contributed = True
        rounded = rounded or item.precision == ROUNDED
        for name in COUNT_FIELDS:
            total = sums[name]
            if not item.HasField(name):  # type: ignore[arg-type]
                sums[name] = None
            elif total is not None:
                sums[name] = total + getattr(item, name)
    if frequency_only and not contributed:
        return allele_pb2.AlleleCounts(precision=SUPPRESSED if suppressed else EXACT)
    if suppressed and not contributed:
        precision = SUPPRESSED
    elif rounded or suppressed or frequency_only:
        precision = ROUNDED
    else:
        precision = EXACT
    pooled = allele_pb2.AlleleCounts(
        precision=precision, **{k: v for k, v in sums.items() if v is not None}
    )  # type: ignore[arg-type]
    ac, an = sums["allele_count"], sums["allele_number"]
    if ac is not None and an:
        pooled.allele_frequency = ac / an
    return pooled


def pool_frequencies(
    frequencies: Iterable[allele_pb2.VariantFrequency],
) -> allele_pb2.AlleleCounts:
    """Pool the dataset counts of ``frequencies``."""
    return pool_counts(f.counts for f in frequencies)


def is_frequency_only(item: allele_pb2.AlleleCounts) -> bool:
    """A frequency without counts (an AF-only dataset's row): pooling skips it."""
    return (
        item.HasField("allele_frequency")
        and not item.HasField("allele_count")
        and not item.HasField("allele_number")
    )


def is_lower_bound(counts: Iterable[allele_pb2.AlleleCounts]) -> bool:
    """Whether the pool of ``counts`` is a lower bound: a part withheld or skipped, one released.

    Skipped: a frequency without counts (:func:`is_frequency_only`).
    """
    kinds = {item.precision == SUPPRESSED or is_frequency_only(item) for item in counts}
    return kinds == {True, False}


def population_parts(
    frequencies: Iterable[allele_pb2.VariantFrequency],
) -> dict[str, list[allele_pb2.AlleleCounts]]:
    """The parts of every label more than one dataset reports (the labels that pool)."""
    by_label: dict[str, list[allele_pb2.AlleleCounts]] = {}
    for frequency in frequencies:
        for entry in frequency.populations:
            by_label.setdefault(entry.population, []).append(entry.counts)
    return {label: parts for label, parts in sorted(by_label.items()) if len(parts) > 1}


def pool_populations(
    frequencies: Iterable[allele_pb2.VariantFrequency],
) -> list[allele_pb2.PopulationFrequency]:
    """Pool each population label reported by more than one dataset, sorted by label."""
    return [
        allele_pb2.PopulationFrequency(population=label, counts=pool_counts(parts))
        for label, parts in population_parts(frequencies).items()
    ]


def country_parts(
    frequencies: Iterable[allele_pb2.VariantFrequency],
) -> dict[str, list[allele_pb2.AlleleCounts]]:
    """Each country's dataset counts, by country code."""
    by_country: dict[str, list[allele_pb2.AlleleCounts]] = {}
    for frequency in frequencies:
        by_country.setdefault(frequency.country, []).append(frequency.counts)
    return dict(sorted(by_country.items()))


def pool_countries(
    frequencies: Iterable[allele_pb2.VariantFrequency],
) -> list[tuple[str, allele_pb2.AlleleCounts]]:
    """Each country's datasets pooled (one row per country), sorted by country code."""
    return [(cc, pool_counts(parts)) for cc, parts in country_parts(frequencies).items()]
