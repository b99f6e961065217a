"""An independent judge of released counts: exact integer reasoning over partition sums.

Written without ``mesh.disclosure``: the test states the partitions of the data it made,
and this module asks, by exhaustive integer search with bounds propagation (a small
constraint solver), whether the released cells pin down any withheld one::

    judge = ReleaseJudge(raw, released, partitions, allele_floor=5, individual_floor=3)
    judge.check()          # AssertionError naming the cell that leaks

``raw``: ``{label: (AC, AN, hom, het, hemi)}`` as the data holds them (``"Total"`` the
dataset row). ``released``: ``{label: AlleleCounts}`` as answered (a label absent from
it was not answered at all). The attacker knows every released count, every partition
(``parent = cells + remainder``), and every cell's AN (even withheld ones: stronger
than a real attacker), with ``0 <= AC <= AN``; for genotype counts ``0 <= count <=
AN / 2`` (hemi: ``AN``), tightened by a released AC (``hom <= AC / 2``, ``het <= AC``).

One exception is by design: a released total of 0 (nobody carries the allele, or
nobody has that genotype) or AC = AN (everybody carries it) says the same of every
row; zeros are released, so those rows are not checked for being derivable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mesh.v1 import allele_pb2

SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED
#: Search steps per question; past them the judge raises :class:`UndecidedError`.
STEPS = 20_000
Counts = tuple[int, int, int, int, int]
GENOTYPE_FIELDS = ("homozygous_count", "heterozygous_count", "hemizygous_count")


class UndecidedError(Exception):
    """The search ran out of steps (the example is too large to decide quickly)."""


class IntegerSystem:
    """Integer variables with bounds and equations ``sum(c * x) == rhs``."""

    def __init__(self) -> None:
        self.bounds: dict[str, tuple[int, int]] = {}
        self.equations: list[tuple[dict[str, int], int]] = []

    def var(self, name: str, lo: int, hi: int) -> None:
        self.bounds[name] = (lo, hi)

    def equal(self, terms: dict[str, int], rhs: int) -> None:
        self.equations.append((terms, rhs))

    def feasible(self, name: str, lo: int, hi: int, near: Mapping[str, int]) -> bool:
        """Whether some integer solution has ``lo <= name <= hi``.

        Exhaustive; ``near`` (a known solution) only orders the search, values closest
        to it first, so that an answer near the truth is found at once.
        """
        bounds = dict(self.bounds)
        a, b = bounds[name]
        bounds[name] = (max(a, lo), min(b, hi))
        return self._search(bounds, near, [STEPS])

    def _propagate(self, bounds: dict[str, tuple[int, int]]) -> bool:
        changed = True
        while changed:
            changed = False
            for terms, rhs in self.equations:
                for name, coef in terms.items():
                    low = high = 0
                    for other, c in terms.items():
                        if other == name:
                            continue
                        a, b = bounds[other]
                        low += min(c * a, c * b)
                        high += max(c * a, c * b)
                    # coef * x = rhs - rest, rest in [low, high]
                    top, bottom = rhs - low, rhs - high
                    size = coef
                    if coef < 0:
                        top, bottom, size = -bottom, -top, -coef
                    a, b = bounds[name]
                    new = (max(a, -(-bottom // size)), min(b, top // size))
                    if new[0] > new[1]:
                        return False
                    if new != (a, b):
                        bounds[name] = new
                        changed = True
        return True

    def _search(
        self, bounds: dict[str, tuple[int, int]], near: Mapping[str, int], steps: list[int]
    ) -> bool:
        steps[0] -= 1
        if steps[0] < 0:
            raise UndecidedError
        if not self._propagate(bounds):
            return False
        open_vars = [(b - a, n) for n, (a, b) in bounds.items() if b > a]
        if not open_vars:
            return all(
                sum(c * bounds[n][0] for n, c in terms.items()) == rhs
                for terms, rhs in self.equations
            )
        _, name = min(open_vars)
        a, b = bounds[name]
        t = min(max(near[name], a), b)
        for part in ((t, t), (a, t - 1), (t + 1, b)):
            if part[0] > part[1]:
                continue
            trial = dict(bounds)
            trial[name] = part
            if self._search(trial, near, steps):
                return True
        return False

    def determined(self, name: str, truth: Mapping[str, int]) -> bool:
        """Whether every solution gives ``name`` its value in ``truth`` (a solution)."""
        value = truth[name]
        big = 10**9
        return not self.feasible(name, value + 1, big, truth) and not self.feasible(
            name, -big, value - 1, truth
        )


def meets(value: int, complement: int | None, floor: int) -> bool:
    """Two-tailed: each of value and complement is 0 or at least the floor."""
    if floor <= 1:
        return True
    ok = value == 0 or value >= floor
    return ok and (complement is None or complement == 0 or complement >= floor)


class ReleaseJudge:
    """Checks one variant's released rows against its raw counts (see module docstring)."""

    def __init__(
        self,
        raw: Mapping[str, Counts],
        released: Mapping[str, allele_pb2.AlleleCounts],
        partitions: Sequence[tuple[str, Sequence[str]]],
        *,
        allele_floor: int,
        individual_floor: int,
        autosomal: bool = True,
    ) -> None:
        self.raw, self.released = raw, released
        self.partitions = [(p, list(c)) for p, c in partitions]
        self.allele_floor, self.individual_floor = allele_floor, individual_floor
        self.autosomal = autosomal

    def withheld(self, label: str) -> bool:
        counts = self.released.get(label)
        return counts is None or counts.precision == SUPPRESSED

    def check(self) -> None:
        """Every assertion: floors on what is released, nothing withheld derivable."""
        self.check_released_meet_floors()
        self.check_withheld_rows_are_empty()
        self.check_allele_counts_not_derivable()
        for kind in range(3):
            self.check_genotypes_not_derivable(kind)

    def check_released_meet_floors(self) -> None:
        for label, counts in self.released.items():
            if counts.precision == SUPPRESSED:
                continue
            ac, an = counts.allele_count, counts.allele_number
            assert meets(ac, an - ac, self.allele_floor), f"{label}: AC {ac} of AN {an} released"
            for kind, name in enumerate(GENOTYPE_FIELDS):
                if not counts.HasField(name):
                    continue
                value = getattr(counts, name)
                known = self.autosomal and kind < 2
                complement = an // 2 - value if known else None
                assert meets(value, complement, self.individual_floor), (
                    f"{label}: {name} {value} released (samples {an // 2})"
                )

    def check_withheld_rows_are_empty(self) -> None:
        for label, counts in self.released.items():
            if counts.precision == SUPPRESSED:
                for field in ("allele_count", "allele_frequency", *GENOTYPE_FIELDS):
                    assert not counts.HasField(field), f"{label}: withheld row carries {field}"

    def _truth(self, value_of: int) -> dict[str, int]:
        truth = {label: c[value_of] for label, c in self.raw.items()}
        for i, (parent, _) in enumerate(self.partitions):
            truth[f"{parent}/rest{i}"] = self._rest(i, value_of)
        return truth

    def _system(self, value_of: int, upper_of: dict[str, int], known: set[str]) -> IntegerSystem:
        system = IntegerSystem()
        for label in self.raw:
            if label in known:
                v = self.raw[label][value_of]
                system.var(label, v, v)
            else:
                system.var(label, 0, upper_of[label])
        for i, (parent, cells) in enumerate(self.partitions):
            rest = f"{parent}/rest{i}"
            system.var(rest, 0, upper_of[rest])
            system.equal({parent: 1, rest: -1, **dict.fromkeys(cells, -1)}, 0)
        return system

    def _rest(self, i: int, index: int) -> int:
        parent, cells = self.partitions[i]
        return self.raw[parent][index] - sum(self.raw[c][index] for c in cells)

    def check_allele_counts_not_derivable(self) -> None:
        upper = {label: c[1] for label, c in self.raw.items()}
        for i, (parent, _) in enumerate(self.partitions):
            upper[f"{parent}/rest{i}"] = self._rest(i, 1)
        known = {label for label in self.raw if not self.withheld(label)}
        ac, an = self.raw["Total"][:2]
        if "Total" in known and ac in (0, an):
            return  # nobody (everybody) carries it: so says the total, of every row
        system = self._system(0, upper, known)
        truth = self._truth(0)
        for label, counts in self.raw.items():
            ac, an = counts[:2]
            # A row answered as withheld must not be derivable; a row left out (collapsed)
            # only when it is under the floor. AN 0: nobody in the row, nothing to hide.
            guarded = label in self.released or not meets(ac, an - ac, self.allele_floor)
            if label not in known and an and guarded:
                assert not system.determined(label, truth), (
                    f"withheld AC of {label} ({counts[0]}) follows from the released cells"
                )
        for parent, cells in self.partitions:
            if parent in known:  # the withheld cells' sum is known: it meets the floor
                hidden = self.raw[parent][0] - sum(self.raw[c][0] for c in cells if c in known)
                assert meets(hidden, None, self.allele_floor), (
                    f"the withheld part of {parent} holds {hidden} alleles in all"
                )
        for i, (parent, _) in enumerate(self.partitions):
            rest, room = self._rest(i, 0), self._rest(i, 1)
            if system.determined(f"{parent}/rest{i}", truth):
                assert meets(rest, room - rest, self.allele_floor), (
                    f"the remainder of a partition of {parent} (AC {rest} of {room}) is derivable"
                )

    def check_genotypes_not_derivable(self, kind: int) -> None:
        name = GENOTYPE_FIELDS[kind]

        def bound(an: int, ac: int | None) -> int:
            limit = an if kind == 2 else an // 2
            if ac is not None:
                limit = min(limit, ac // 2 if kind == 0 else ac)
            return limit

        def released_ac(label: str) -> int | None:
            return None if self.withheld(label) else self.raw[label][0]

        upper = {label: bound(c[1], released_ac(label)) for label, c in self.raw.items()}
        for i, (parent, cells) in enumerate(self.partitions):
            acs = [released_ac(x) for x in (parent, *cells)]
            ac = None if None in acs else self._rest(i, 0)
            upper[f"{parent}/rest{i}"] = bound(self._rest(i, 1), ac)
        known = {
            label
            for label in self.raw
            if not self.withheld(label) and self.released[label].HasField(name)
        }
        for label in known:
            assert getattr(self.released[label], name) == self.raw[label][2 + kind], label
        total_ac = released_ac("Total")
        if total_ac == 0 or ("Total" in known and self.raw["Total"][2 + kind] == 0):
            return  # nobody has this genotype: so says the total, of every row
        system = self._system(2 + kind, upper, known)
        truth = self._truth(2 + kind)
        for i, (parent, _) in enumerate(self.partitions):
            rest = self._rest(i, 2 + kind)
            if system.determined(f"{parent}/rest{i}", truth):
                assert meets(rest, None, self.individual_floor), (
                    f"the remainder of a partition of {parent} ({name} {rest}) is derivable"
                )
        for label, counts in self.raw.items():
            value, an = counts[2 + kind], counts[1]
            complement = an // 2 - value if self.autosomal and kind < 2 else None
            shy = not meets(value, complement, self.individual_floor)
            if label not in known and an and shy:
                assert not system.determined(label, truth), (
                    f"withheld {name} of {label} ({value}) follows from the released cells"
                )
