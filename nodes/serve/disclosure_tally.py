"""What the node would release of an index: the disclosure tally of ``index preview``/``build``.

Every stored value goes through :func:`nodes.serve.policy.release` exactly as a lookup
by a caller who may see everything (granularity ``record``) would, and the outcome is
counted: totals and population rows withheld by the floor, rows more withheld by
complementary suppression, variants collapsed, rows rounded, the smallest count
released. The counts are those the serving rule reports (:class:`~mesh.disclosure.Disclosed`),
never worked out again here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mesh.disclosure import POLICY_VERSION, ROOT
from mesh.v1 import allele_pb2
from nodes.index.records import ValueCodec
from nodes.serve.policy import Granularity, PrivacyPolicy, release

SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
_GENOTYPES = ("homozygous_count", "heterozygous_count", "hemizygous_count")


@dataclass
class DisclosureTally:
    """What the node would release of each stored value, under one dataset's policy."""

    policy: PrivacyPolicy
    variants: int = 0
    population_rows: int = 0
    totals_floored: int = 0
    #: Totals withheld whose counts are not all known (an unknown AC cannot be checked).
    totals_unknown: int = 0
    rows_small: int = 0
    rows_floored: int = 0
    rows_complementary: int = 0
    rows_collapsed: int = 0
    variants_collapsed: int = 0
    variants_touched: int = 0
    rows_rounded: int = 0
    smallest_count: int | None = None
    smallest_genotype_count: int | None = None

    def add(self, value: bytes, codec: ValueCodec) -> None:
        """Release one stored value as the node would to a caller seeing everything."""
        frequency = codec.decode_frequency(value)
        rows = len(frequency.populations)
        released = release(frequency, Granularity.RECORD, self.policy)
        disclosed = released.disclosed
        self.variants += 1
        self.population_rows += rows
        self.rows_small += released.small_populations
        withheld = disclosed.withheld - {ROOT}
        floored = disclosed.floored - {ROOT}
        if ROOT in disclosed.withheld:
            if ROOT in disclosed.floored:
                self.totals_floored += 1
            else:
                self.totals_unknown += 1
        self.rows_floored += len(floored)
        if disclosed.collapsed:
            self.variants_collapsed += 1
            self.rows_collapsed += len(withheld - floored)
        else:
            self.rows_complementary += len(withheld - floored)
        if disclosed.withheld or released.small_populations:
            self.variants_touched += 1
        for counts in (frequency.counts, *(p.counts for p in frequency.populations)):
            if counts.precision == SUPPRESSED:
                continue
            if counts.precision == ROUNDED:
                self.rows_rounded += 1
            if counts.HasField("allele_count") and counts.HasField("allele_number"):
                ac, an = counts.allele_count, counts.allele_number
                self.smallest_count = _smallest(self.smallest_count, (ac, an - ac))
            self.smallest_genotype_count = _smallest(
                self.smallest_genotype_count,
                (getattr(counts, g) for g in _GENOTYPES if counts.HasField(g)),
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "policy_version": POLICY_VERSION,
            "policy": policy_settings(self.policy),
            "variants": self.variants,
            "population_rows": self.population_rows,
            "totals_withheld_by_floor": self.totals_floored,
            "totals_withheld_unknown_counts": self.totals_unknown,
            "population_rows_too_small": self.rows_small,
            "population_rows_withheld_by_floor": self.rows_floored,
            "population_rows_withheld_complementary": self.rows_complementary,
            "variants_collapsed": self.variants_collapsed,
            "population_rows_collapsed": self.rows_collapsed,
            "variants_changed": self.variants_touched,
            "rows_rounded": self.rows_rounded,
            "smallest_released_count": self.smallest_count,
            "smallest_released_genotype_count": self.smallest_genotype_count,
        }


def _smallest(current: int | None, values: Iterable[int]) -> int | None:
    """The smallest non-zero value so far (a 0 says nobody, and is released)."""
    for value in values:
        if value and (current is None or value < current):
            current = value
    return current


def policy_settings(p: PrivacyPolicy) -> dict[str, Any]:
    """A policy's release settings as recorded (``disclosure_check.policy``)."""
    rules = p.disclosure
    return {
        "min_individuals": p.min_individuals,
        "min_allele_count": p.min_allele_count,
        "allele_floor": rules.allele_floor,
        "individual_floor": rules.individual_floor,
        "round_counts_to": p.round_counts_to,
        "min_population_size": p.min_population_size,
        "on_suppression": "collapse" if p.collapse else "suppress",
        "partitions": None
        if p.partitions is None
        else [[part.parent, list(part.children)] for part in p.partitions],
    }


def check_note(recorded: dict[str, Any], policy: PrivacyPolicy) -> str:
    """How an index's recorded disclosure check compares with the policy it is served under.

    Informational (``node check-config``): the node applies ``policy`` either way.
    """
    if not recorded:
        return "disclosure not checked (index build --policy records a check)"
    version = recorded.get("policy_version")
    settings = policy_settings(policy)
    then = recorded.get("policy") or {}
    differ = [
        f"{k} {then.get(k)!r} there, {v!r} here" for k, v in settings.items() if then.get(k) != v
    ]
    text = f"disclosure checked with policy version {version}"
    if version != POLICY_VERSION:
        text += f" (this node applies version {POLICY_VERSION})"
    if differ:
        return f"{text} under other settings: {'; '.join(differ)}"
    withheld = recorded.get("population_rows_withheld_by_floor", 0) + recorded.get(
        "population_rows_withheld_complementary", 0
    )
    return (
        f"{text} under these settings: {recorded.get('totals_withheld_by_floor', 0):,} totals "
        f"and {withheld:,} population rows withheld, "
        f"{recorded.get('variants_collapsed', 0):,} variants collapsed"
    )
