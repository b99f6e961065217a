"""Pooling: one ``AlleleCounts`` summed over every dataset that answered.

The rule, applied per variant over the ``VariantFrequency.counts`` of every dataset:

* ``EXACT`` counts (and ``UNSPECIFIED``, which older nodes send for exact counts) are
  summed: AC, AN, homozygous, heterozygous and hemizygous; AF = AC / AN (0 if AN is 0).
* ``ROUNDED`` counts are summed too, but the pooled precision becomes ``ROUNDED``:
  the sum of rounded numbers is itself only approximate.
* ``SUPPRESSED`` counts contribute nothing (they are withheld, not zero). If any
  other dataset contributed, the pooled precision is ``ROUNDED`` (the sum is a lower
  bound, not exact); if every dataset was suppressed it is ``SUPPRESSED``.
* No frequencies at all pool to exact zeros.
"""

from __future__ import annotations

from collections.abc import Iterable

from mesh.v1 import allele_pb2

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED


def pool_counts(counts: Iterable[allele_pb2.AlleleCounts]) -> allele_pb2.AlleleCounts:
    """Sum ``counts`` following the module's precision rule."""
    ac = an = hom = het = hemi = 0
    contributed = suppressed = rounded = False
    for item in counts:
        if item.precision == SUPPRESSED:
            suppressed = True
            continue
        contributed = True
        rounded = rounded or item.precision == ROUNDED
        ac += item.allele_count
        an += item.allele_number
        hom += item.homozygous_count
        het += item.heterozygous_count
        hemi += item.hemizygous_count
    if suppressed and not contributed:
        precision = SUPPRESSED
    elif rounded or suppressed:
        precision = ROUNDED
    else:
        precision = EXACT
    return allele_pb2.AlleleCounts(
        allele_count=ac,
        allele_number=an,
        allele_frequency=ac / an if an else 0.0,
        homozygous_count=hom,
        heterozygous_count=het,
        hemizygous_count=hemi,
        precision=precision,
    )


def pool_frequencies(
    frequencies: Iterable[allele_pb2.VariantFrequency],
) -> allele_pb2.AlleleCounts:
    """Pool the dataset counts of ``frequencies``."""
    return pool_counts(f.counts for f in frequencies)
