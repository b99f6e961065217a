"""One variant's answer as the JSON API writes it: rows, pooled rows and their marks.

The pooled rows are what the mesh computed (``pooled``, ``pooled_populations``) plus
one row per country, pooled under the same rule (:mod:`mesh.federation` pooling), so
the pages show them rather than summing anything themselves. Every pooled counts
object carries ``lower_bound``: true when a part was withheld by a dataset's policy
while others were released (the sum of what was released; the true total is at least
that). ``precision`` stays ``COUNT_PRECISION_ROUNDED`` for those, as in ``mesh.v1``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.http.convert import JsonObject, counts_json, frequency_json, variant_json
from mesh.federation import country_parts, is_lower_bound, pool_counts, population_parts
from mesh.v1 import allele_pb2


def pooled_json(
    pooled: allele_pb2.AlleleCounts, parts: Iterable[allele_pb2.AlleleCounts]
) -> JsonObject:
    """Pooled counts with their ``lower_bound`` mark."""
    return {**counts_json(pooled), "lower_bound": is_lower_bound(parts)}


def variant_result_json(
    variant: allele_pb2.Variant,
    frequencies: Sequence[allele_pb2.VariantFrequency],
    pooled: allele_pb2.AlleleCounts,
    pooled_populations: Iterable[allele_pb2.PopulationFrequency],
) -> JsonObject:
    """``variant``, its rows, the pooled row, pooled populations and per-country rows."""
    labels = population_parts(frequencies)
    return {
        "variant": variant_json(variant),
        "frequencies": [frequency_json(f) for f in frequencies],
        "pooled": pooled_json(pooled, [f.counts for f in frequencies]),
        "pooled_populations": [
            {
                "population": p.population,
                "counts": pooled_json(p.counts, labels.get(p.population, [])),
            }
            for p in pooled_populations
        ],
        "pooled_countries": [
            {"country": country, "counts": pooled_json(pool_counts(parts), parts)}
            for country, parts in country_parts(frequencies).items()
        ],
    }
