"""Genotype counts (hom, het, hemi) under the floors: all or none per population rows.

The attacker model is :mod:`mesh.disclosure._search`'s, one count kind at a time; AC =
2 hom + het + hemi ties the kinds together, which is why population genotype counts are
released only when nothing of the variant is withheld.
"""

from __future__ import annotations

from mesh.disclosure._partitions import ROOT
from mesh.disclosure._search import (
    InconsistentPartitionError,
    Partition,
    PartitionSystem,
    complementary_suppression,
    passes,
)
from mesh.v1 import allele_pb2

GENOTYPES = ("homozygous_count", "heterozygous_count", "hemizygous_count")
_HAPLOID_POSSIBLE = frozenset(("X", "Y", "MT"))
Counts = allele_pb2.AlleleCounts


def is_autosomal(frequency: allele_pb2.VariantFrequency) -> bool:
    return frequency.variant.chromosome not in _HAPLOID_POSSIBLE


def genotypes_pass(counts: Counts, autosomal: bool, floor: int) -> bool:
    """Each present genotype count and, on autosomes, its complement meet the floor."""
    samples = counts.allele_number // 2 if autosomal and counts.HasField("allele_number") else None
    for name in GENOTYPES:
        if not counts.HasField(name):
            continue
        value = getattr(counts, name)
        known = samples is not None and name != "hemizygous_count"
        if not passes(value, samples - value if known and samples is not None else None, floor):
            return False
    return True


def strip_genotypes(counts: Counts) -> None:
    for name in GENOTYPES:
        counts.ClearField(name)


def release_genotypes(
    frequency: allele_pb2.VariantFrequency,
    rows: dict[str, Counts],
    hidden: set[str],
    system: PartitionSystem | None,
    floor: int,
) -> None:
    """Genotype counts: the populations' all or none, the total's by its floor.

    When the populations' are withheld, the total's stay only if no withheld population
    count under the floor follows from them (:func:`_total_hides`).
    """
    autosomal = is_autosomal(frequency)
    root = rows[ROOT]
    root_ok = ROOT not in hidden and genotypes_pass(root, autosomal, floor)
    populations_ok = root_ok and not hidden and system is not None
    if populations_ok:
        populations_ok = all(genotypes_pass(c, autosomal, floor) for c in rows.values())
    if populations_ok and system is not None:
        populations_ok = _genotype_remainders_pass(system, rows, autosomal, floor)
    if not populations_ok:
        if root_ok and len(rows) > 1:
            root_ok = system is not None and all(
                _total_hides(system, rows, hidden, name, autosomal, floor)
                for name in GENOTYPES
                if getattr(root, name)  # a total of 0 says 0 of every row: nothing to hide
            )
        for label, counts in rows.items():
            if label != ROOT:
                strip_genotypes(counts)
    if not root_ok:
        strip_genotypes(root)


def _total_hides(
    system: PartitionSystem,
    rows: dict[str, Counts],
    hidden: set[str],
    name: str,
    autosomal: bool,
    floor: int,
) -> bool:
    """Whether the total's ``name`` count leaves withheld population ones undetermined.

    Only those under the floor must be: the model is the partitions with each row's
    bound (``AN / 2``, or what a released AC allows: ``hom <= AC / 2``, ``het <= AC``).
    """
    if not all(c.HasField(name) for c in rows.values()):
        return False  # a part unknown here: nothing to prove it with

    def bound(an: int, ac: int | None) -> int:
        limit = an if name == "hemizygous_count" else an // 2
        if ac is not None:
            limit = min(limit, ac // 2 if name == "homozygous_count" else ac)
        return limit

    def ac_of(label: str) -> int | None:
        return None if label in hidden else rows[label].allele_count

    values = {label: getattr(c, name) for label, c in rows.items()}
    upper = {label: bound(c.allele_number, ac_of(label)) for label, c in rows.items()}
    upper[ROOT] = max(upper[ROOT], values[ROOT])

    def remainder_upper(part: Partition) -> int:
        an = rows[part.parent].allele_number - sum(rows[c].allele_number for c in part.children)
        cells = [part.parent, *part.children]
        known = all(ac_of(c) is not None for c in cells)
        ac = ac_of(part.parent) or 0
        ac -= sum(ac_of(c) or 0 for c in part.children)
        return bound(an, ac if known else None)

    try:
        genotypes = PartitionSystem(values, upper, system.partitions, remainder_upper)
    except InconsistentPartitionError:
        return False
    populations = [label for label in rows if label != ROOT]
    samples = {label: c.allele_number // 2 for label, c in rows.items()}
    known = autosomal and name != "hemizygous_count"
    shy = [
        label
        for label in populations
        if not passes(values[label], samples[label] - values[label] if known else None, floor)
    ]
    shy_rest = [r for r in genotypes.remainders if not passes(genotypes.value[r], None, floor)]
    kept = complementary_suppression(genotypes, populations, shy_rest, ROOT, protect=shy)
    return kept is not None and ROOT not in kept


def _genotype_remainders_pass(
    system: PartitionSystem, rows: dict[str, Counts], autosomal: bool, floor: int
) -> bool:
    """What each partition leaves of its parent's genotype counts meets the floor too."""
    for equation in system.equations:
        cells = [(system.names[i], c) for i, c in equation.items() if i < system.labelled]
        for name in GENOTYPES:
            if not all(rows[label].HasField(name) for label, _ in cells):
                continue  # a part unknown: the remainder cannot be computed
            rest = sum(c * getattr(rows[label], name) for label, c in cells)
            room = sum(c * rows[label].allele_number for label, c in cells) // 2
            if rest < 0:
                return False
            known = autosomal and name != "hemizygous_count"
            if not passes(rest, room - rest if known else None, floor):
                return False
    return True
