"""Disclosure control for one variant's counts: floors, complementary suppression, rounding.

Used by a node on each stored frequency it releases (:func:`disclose`, then
:func:`round_frequency`) and by the gateway on each frequency a node released
(:func:`disclose_released`, the mesh-wide floor). What every answer satisfies:

* **Two-tailed floors.** A row's allele count is released only if ``AC`` and
  ``AN - AC`` are each 0 or at least the allele floor; a genotype count (hom, het,
  hemi) only if it and, on autosomes, the samples without that genotype
  (``AN / 2 - count``) are each 0 or at least the individual floor. Floors are in
  individuals: ``min_individuals = n`` means an individual floor of ``n`` and an
  allele floor of ``2n - 1`` (fewer alleles could come from fewer than ``n`` people);
  ``min_allele_count = k`` is the allele form (individual floor ``ceil(k / 2)``).
  The stricter of the two wins.
* **Complementary suppression.** Rows form partitions of the total (see
  :mod:`mesh.disclosure._partitions`); when a row is withheld, more rows of its
  partitions are withheld, smallest first, until no withheld allele count (nor a
  partition's remainder under the floor) is determined by the released counts and the
  partition sums, in any partition (see :mod:`mesh.disclosure._search` for the model
  and the proof each answer carries). With ``collapse`` any withheld row collapses the
  variant's rows to the total alone; so does a case the search cannot protect.
* **Withheld means absent.** A withheld row has every count absent and precision
  ``SUPPRESSED``; AF goes with AC. Genotype counts of population rows are released
  only when no row was withheld and every genotype count (remainders included) meets
  its floor; otherwise they are absent from every population row (AC = 2 hom + het +
  hemi would otherwise give a withheld count back).
* **Rounding after suppression** (:func:`round_frequency`): every released count of
  every row, the total included, so rounded parts never sum to an exact total.
* **Derived extras only with exact counts** (:func:`release_extras`): gnomAD's
  ``grpmax`` and ``faf95`` are computed from the counts (the group with the highest AF
  and its AC/AN/hom, a confidence bound on AF), so they would give back what a floor,
  a dropped row or rounding hides. They go out only when every row of the variant is
  released as stored: same rows, same counts present, every one exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.disclosure._genotypes import (
    GENOTYPES,
    genotypes_pass,
    is_autosomal,
    release_genotypes,
    strip_genotypes,
)
from mesh.disclosure._partitions import ROOT, derive_partitions, usable_partitions
from mesh.disclosure._search import (
    InconsistentPartitionError,
    Partition,
    PartitionSystem,
    complementary_suppression,
    passes,
)
from mesh.model.wire import COUNT_FIELDS as _COUNT_NAMES
from mesh.v1 import allele_pb2

__all__ = [
    "POLICY_VERSION",
    "ROOT",
    "Disclosed",
    "DisclosureRules",
    "Partition",
    "count_shape",
    "derive_partitions",
    "disclose",
    "disclose_released",
    "passes",
    "release_extras",
    "round_frequency",
]

#: The version of these rules, recorded in each index checked against a policy
#: (``index build --policy``) and shown by ``index info``. Raise it whenever a change
#: here can release a cell an earlier version withheld, or withhold one it released.
#: 1: cell floors; 2: two-tailed floors in individuals, complementary suppression or
#: collapse, genotype counts all or none, rounding after suppression (issue 20).
POLICY_VERSION = 2

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
Counts = allele_pb2.AlleleCounts


@dataclass(frozen=True)
class DisclosureRules:
    """Floors and the suppression mode of one dataset (or of the mesh, at the gateway)."""

    min_individuals: int = 0
    min_allele_count: int = 0
    #: ``on_suppression = "collapse"``: any withheld row leaves the total alone.
    collapse: bool = False
    #: Declared partitions; ``None``: read them from the labels.
    partitions: tuple[Partition, ...] | None = None

    @property
    def individual_floor(self) -> int:
        """Fewest individuals a released genotype count (or its complement) may stand for."""
        return max(self.min_individuals, (self.min_allele_count + 1) // 2)

    @property
    def allele_floor(self) -> int:
        """Fewest alleles a released allele count (or ``AN - AC``) may be."""
        return max(self.min_allele_count, 2 * self.min_individuals - 1)

    @property
    def active(self) -> bool:
        """Whether any floor applies."""
        return self.allele_floor > 1 or self.individual_floor > 1


@dataclass(frozen=True, slots=True)
class Disclosed:
    """What :func:`disclose` did to one frequency (``index preview`` counts these)."""

    #: Rows withheld because they (or their complement) are under the floor; ``ROOT``
    #: stands for the total.
    floored: frozenset[str] = frozenset()
    #: Every withheld row: the floored ones and those complementary suppression added.
    withheld: frozenset[str] = frozenset()
    #: The population rows collapsed to the total alone.
    collapsed: bool = False


NOTHING_WITHHELD = Disclosed()


def disclose(frequency: allele_pb2.VariantFrequency, rules: DisclosureRules) -> Disclosed:
    """Apply floors and complementary suppression to one frequency, in place.

    Expects exact counts (a node's stored frequency, or rows nobody withheld yet).
    """
    if not rules.active:
        return NOTHING_WITHHELD
    root = frequency.counts
    rows: dict[str, Counts] = {ROOT: root}
    aliases = []  # a population row labelled like the total follows the total
    readable = _readable(root)
    for population in frequency.populations:
        counts = population.counts
        if population.population == ROOT:
            aliases.append(counts)
            continue
        readable = readable and population.population not in rows and _readable(counts)
        rows[population.population] = counts
    floor = rules.allele_floor
    hidden: set[str] | None = None
    system = None
    failing: list[str] = []
    if readable:
        values = {label: c.allele_count for label, c in rows.items()}
        upper = {label: c.allele_number for label, c in rows.items()}
        failing = [k for k in rows if not passes(values[k], upper[k] - values[k], floor)]
        labels = list(rows)
        partitions = usable_partitions(
            rules.partitions if rules.partitions is not None else derive_partitions(labels),
            labels,
        )
        try:
            system = PartitionSystem(values, upper, partitions)
        except InconsistentPartitionError:
            system = None
        if system is not None:
            shy = [r for r in system.remainders if not _remainder_passes(system, r, floor)]
            if not (rules.collapse and (set(failing) - {ROOT} or shy)):
                hidden = complementary_suppression(system, failing, shy, ROOT, floor=floor)
    collapsed = hidden is None
    if hidden is None:  # every population row goes; the total stays if it meets the floor
        total_ok = _readable(root) and passes(
            root.allele_count, root.allele_number - root.allele_count, floor
        )
        hidden = set(rows) - ({ROOT} if total_ok else set())
    release_genotypes(frequency, rows, hidden, system, rules.individual_floor)  # reads all rows
    if collapsed:
        _collapse(frequency, root, floor)
    else:
        for label in hidden:
            _withhold(rows[label])
    for alias in aliases:
        alias.CopyFrom(root)
    if root.precision == SUPPRESSED:
        hidden.add(ROOT)
    if not (hidden or collapsed):
        return NOTHING_WITHHELD
    floored = {k for k in failing if k in hidden}
    return Disclosed(frozenset(floored), frozenset(hidden), collapsed and len(rows) > 1)


def disclose_released(frequency: allele_pb2.VariantFrequency, rules: DisclosureRules) -> None:
    """The mesh-wide floor over a frequency a node already released, in place.

    Rows all exact: the node's own algorithm, with these floors. Otherwise (the node
    withheld or rounded some) the withheld values are unknown here, so nothing is
    withheld cell by cell: if a released row, or what a released parent leaves to its
    other cells, is under the floor, the rows collapse to the total; genotype counts go
    when population rows remain of which one is withheld or under the floor.
    """
    if not rules.active:
        return
    if frequency.HasField("extras"):
        stored = count_shape(frequency)
        _disclose_released(frequency, rules)
        release_extras(frequency, stored)
    else:
        _disclose_released(frequency, rules)


def _disclose_released(frequency: allele_pb2.VariantFrequency, rules: DisclosureRules) -> None:
    rows = [frequency.counts] + [p.counts for p in frequency.populations]
    if all(c.precision in (EXACT, 0) for c in rows):
        disclose(frequency, rules)
        return
    floor = rules.allele_floor
    shown = {ROOT: frequency.counts}
    shown.update({p.population: p.counts for p in frequency.populations})
    released = {k: c for k, c in shown.items() if c.precision != SUPPRESSED}
    ok = all(
        passes(c.allele_count, c.allele_number - c.allele_count, floor)
        for c in released.values()
        if _readable(c)
    )
    labels = list(shown)
    for part in usable_partitions(
        rules.partitions if rules.partitions is not None else derive_partitions(labels), labels
    ):
        parent = released.get(part.parent)
        if not ok or parent is None or not _readable(parent):
            continue
        given = [released[c] for c in part.children if c in released]
        given = [c for c in given if _readable(c)]
        rest = parent.allele_count - sum(c.allele_count for c in given)
        room = parent.allele_number - sum(c.allele_number for c in given)
        # what the withheld cells (and the remainder) hold together is known: it must
        # meet the floor too, both tails when it is the remainder alone
        ok = passes(rest, room - rest if len(given) == len(part.children) else None, floor)
    if not ok:
        _collapse(frequency, frequency.counts, floor)
    autosomal = is_autosomal(frequency)
    individuals = rules.individual_floor
    if frequency.populations and (
        len(released) < len(shown)
        or not all(genotypes_pass(p.counts, autosomal, individuals) for p in frequency.populations)
    ):  # the withheld values are unknown here, so nothing proves the total's safe
        for counts in rows:
            strip_genotypes(counts)
    elif not genotypes_pass(frequency.counts, autosomal, individuals):
        strip_genotypes(frequency.counts)


def count_shape(frequency: allele_pb2.VariantFrequency) -> tuple[tuple[object, ...], ...]:
    """Which rows and counts a frequency holds, and how exact (see :func:`release_extras`)."""
    rows = [("", frequency.counts), *((p.population, p.counts) for p in frequency.populations)]
    return tuple(
        (label, c.precision or EXACT, *(c.HasField(f) for f in _COUNT_NAMES)) for label, c in rows
    )


def release_extras(
    frequency: allele_pb2.VariantFrequency, stored: tuple[tuple[object, ...], ...]
) -> bool:
    """Keep ``frequency.extras`` only if its counts went out exactly as ``stored``.

    ``stored`` is :func:`count_shape` of the frequency before any rule touched it. A
    withheld, floored, dropped or rounded row, or a genotype count taken away, changes
    the shape (or a precision), and then the extras are cleared. Returns whether kept.
    """
    if not frequency.HasField("extras"):
        return False
    shape = count_shape(frequency)
    if shape == stored and all(row[1] == EXACT for row in shape):
        return True
    frequency.ClearField("extras")
    return False


def round_frequency(frequency: allele_pb2.VariantFrequency, step: int) -> None:
    """Round every released count of every row (the total too) half up to ``step``."""
    if step <= 1:
        return
    _round_counts(frequency.counts, step)
    for population in frequency.populations:
        _round_counts(population.counts, step)


def _round_counts(counts: Counts, step: int) -> None:
    if counts.precision == SUPPRESSED:
        return
    for name in ("allele_count", "allele_number", *GENOTYPES):
        if counts.HasField(name):
            value = getattr(counts, name)
            setattr(counts, name, (value + step // 2) // step * step)
    if counts.HasField("allele_count") and counts.allele_number:
        counts.allele_frequency = counts.allele_count / counts.allele_number
    elif counts.HasField("allele_number"):
        counts.ClearField("allele_frequency")  # AC unknown or AN 0: no frequency
    counts.precision = ROUNDED


def _readable(counts: Counts) -> bool:
    """Whether the row's AC and AN are known (an absent count is unknown, never 0)."""
    return counts.HasField("allele_count") and counts.HasField("allele_number")


def _remainder_passes(system: PartitionSystem, r: int, floor: int) -> bool:
    return passes(system.value[r], system.upper[r] - system.value[r], floor)


def _withheld(counts: Counts) -> bool:
    return counts.precision == SUPPRESSED


def _withhold(counts: Counts) -> None:
    counts.Clear()
    counts.precision = SUPPRESSED


def _collapse(frequency: allele_pb2.VariantFrequency, root: Counts, floor: int) -> None:
    """Leave the total alone, itself withheld under the floor (or when unreadable)."""
    del frequency.populations[:]
    if root.precision == SUPPRESSED:
        return
    if not _readable(root) or not passes(
        root.allele_count, root.allele_number - root.allele_count, floor
    ):
        _withhold(root)
