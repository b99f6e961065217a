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
  bound, not exact); if every dataset was suppressed it is ``SUPPRESSED``, with its
  counts absent (unknown, never 0).
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

The rule itself is :class:`CountPool`, over count tuples: :func:`pool_counts` feeds it
``AlleleCounts`` messages, a node's hot paths feed it their stored count tuples
(``nodes.serve._response.PooledCounts``), so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from mesh.model.wire import COUNT_FIELDS
from mesh.v1 import allele_pb2

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED


class CountPool:
    """The pooling rule (see the module docstring) over count tuples, one part at a time.

    A part is ``(AC, AN, hom, het, hemi)`` with :attr:`UNKNOWN` (``None``; a node's
    stored tuples use their own marker, in a subclass) for a count the part did not
    give, and its precision. :meth:`result` is the pool: the five sums (``None``: unknown) and
    the pooled precision. Slotted and branch-light: a node adds every dataset's part
    of every variant it answers.
    """

    __slots__ = (
        "ac", "an", "contributed", "hemi", "het", "hom", "missing", "rounded", "skipped",
        "withheld",
    )  # fmt: skip
    #: What marks a count a part did not give.
    UNKNOWN: ClassVar[object] = None

    def __init__(self) -> None:
        self.ac = self.an = self.hom = self.het = self.hemi = 0
        #: Bit i set: count i is unknown in some contributing part.
        self.missing = 0
        self.contributed = self.rounded = self.withheld = self.skipped = False

    def add(
        self, counts: Sequence[object], precision: int, frequency_only: bool | None = None
    ) -> None:
        """Add one part. ``frequency_only`` (``None``: the part has neither AC nor AN).

        A stored total without AC and AN is always a frequency (a node builds no total
        without AC or AF), so a node's tuples need not say it.
        """
        if precision == SUPPRESSED:
            self.withheld = True
            return
        unknown = self.UNKNOWN
        # Unrolled over the five counts: a node adds every dataset's part of every
        # variant it answers, and the gateway every population of every peer's row.
        ac, an, hom, het, hemi = counts[0], counts[1], counts[2], counts[3], counts[4]
        if frequency_only is None:
            frequency_only = ac == unknown and an == unknown
        if frequency_only:
            self.skipped = True
            return
        self.contributed = True
        if precision == ROUNDED:
            self.rounded = True
        # An unknown count is marked missing (a sum with it is unknown), never added as 0.
        if ac == unknown:
            self.missing |= 1
        else:
            self.ac += ac  # type: ignore[operator]
        if an == unknown:
            self.missing |= 2
        else:
            self.an += an  # type: ignore[operator]
        if hom == unknown:
            self.missing |= 4
        else:
            self.hom += hom  # type: ignore[operator]
        if het == unknown:
            self.missing |= 8
        else:
            self.het += het  # type: ignore[operator]
        if hemi == unknown:
            self.missing |= 16
        else:
            self.hemi += hemi  # type: ignore[operator]

    def result(self) -> tuple[tuple[int | None, ...], int]:
        """The pooled ``(AC, AN, hom, het, hemi)`` (``None``: unknown) and precision."""
        if not self.contributed and (self.skipped or self.withheld):
            # Nothing was summed: the pool's counts are unknown (absent), never 0.
            return (None,) * 5, SUPPRESSED if self.withheld else EXACT
        precision = ROUNDED if self.rounded or self.withheld or self.skipped else EXACT
        sums = (self.ac, self.an, self.hom, self.het, self.hemi)
        if not self.missing:
            return sums, precision
        return tuple(None if self.missing >> i & 1 else v for i, v in enumerate(sums)), precision


def pool_counts(counts: Iterable[allele_pb2.AlleleCounts]) -> allele_pb2.AlleleCounts:
    """Sum ``counts`` following the module's precision rule (:class:`CountPool`)."""
    pool = CountPool()
    add = pool.add
    for item in counts:
        add(*_part(item))
    sums, precision = pool.result()
    known = {k: v for k, v in zip(COUNT_FIELDS, sums, strict=True) if v is not None}
    pooled = allele_pb2.AlleleCounts(precision=precision, **known)  # type: ignore[arg-type]
    ac, an = sums[0], sums[1]
    if ac is not None and an:
        pooled.allele_frequency = ac / an
    return pooled


def _part(item: allele_pb2.AlleleCounts) -> tuple[tuple[int | None, ...], int, bool]:
    """``(counts, precision, frequency only)`` of one message, for :meth:`CountPool.add`.

    Unrolled over :data:`COUNT_FIELDS` (a gateway pools every population of every peer).
    """
    has = item.HasField
    values = (
        item.allele_count if has("allele_count") else None,
        item.allele_number if has("allele_number") else None,
        item.homozygous_count if has("homozygous_count") else None,
        item.heterozygous_count if has("heterozygous_count") else None,
        item.hemizygous_count if has("hemizygous_count") else None,
    )
    # is_frequency_only, from the presence already read.
    frequency_only = values[0] is None and values[1] is None and has("allele_frequency")
    return values, item.precision, frequency_only


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
