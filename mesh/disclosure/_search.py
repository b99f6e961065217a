"""Complementary suppression over partition equations, on plain integers.

The model (what an attacker is assumed to know about one variant and one count kind):

* every released cell's value;
* for every partition ``parent = child_1 + ... + child_n + remainder`` the equation,
  the remainder being one more unknown cell (``parent`` minus the labelled children);
* bounds ``0 <= value <= upper`` for every cell, ``upper`` being its allele number
  (assumed known even where it is withheld: a stronger attacker than the real one).

A hidden cell is *undetermined* when a second integer solution of that system gives it
another value. :meth:`PartitionSystem.movable` proves it constructively: it looks for a
unit move ``d`` (entries -1, 0, +1, zero on released cells, ``d_j != 0``) with every
equation still balanced and every cell within its bounds; the true values plus ``d``
are then that second solution. For the partitions the label rule derives (two crossing
laminar families: sex within group inside both the group and the sex) the equations
are totally unimodular, so such a unit move exists whenever any other solution does;
for other declared partitions the search may miss one and suppress more than needed,
never less. The search is bounded; running out of steps counts as "not proven".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Search steps per proof; a variant's system has a few dozen cells at most.
MAX_STEPS = 400


class InconsistentPartitionError(ValueError):
    """A partition's children add up to more than its parent (labels misread)."""


@dataclass(frozen=True)
class Partition:
    """``parent`` is split into ``children`` (plus an unlabelled remainder)."""

    parent: str
    children: tuple[str, ...]


def passes(value: int, complement: int | None, floor: int) -> bool:
    """Two-tailed floor: ``value`` and its ``complement`` are each 0 or at least ``floor``.

    ``complement`` is ``None`` when it cannot be known (then only ``value`` is checked).
    """
    if floor <= 1:
        return True
    if 0 < value < floor:
        return False
    return complement is None or not 0 < complement < floor


class PartitionSystem:
    """Cells (labels, then one remainder per partition) and their partition equations."""

    def __init__(
        self,
        values: Mapping[str, int],
        upper: Mapping[str, int],
        partitions: Sequence[Partition],
        remainder_upper: Callable[[Partition], int] | None = None,
    ) -> None:
        """``remainder_upper``: a remainder's bound (default: what the cells' bounds leave)."""
        self.names: list[str] = list(values)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.value = [values[n] for n in self.names]
        self.upper = [upper[n] for n in self.names]
        self.labelled = len(self.names)
        self.partitions = list(partitions)
        self.equations: list[dict[int, int]] = []
        for number, part in enumerate(partitions):
            rest = values[part.parent] - sum(values[c] for c in part.children)
            if remainder_upper is None:
                room = upper[part.parent] - sum(upper[c] for c in part.children)
            else:
                room = remainder_upper(part)
            if rest < 0 or room < rest:
                raise InconsistentPartitionError(
                    f"{'+'.join(part.children)} exceed {part.parent} (partition {number})"
                )
            remainder = len(self.names)
            self.names.append(f"{part.parent}/other#{number}")
            self.value.append(rest)
            self.upper.append(room)
            equation: dict[int, int] = {self.index[part.parent]: 1, remainder: -1}
            for child in part.children:
                i = self.index[child]
                equation[i] = equation.get(i, 0) - 1
            self.equations.append(equation)
        self.of_cell: list[list[int]] = [[] for _ in self.names]
        for e, equation in enumerate(self.equations):
            for i in equation:
                self.of_cell[i].append(e)

    @property
    def remainders(self) -> range:
        """Indexes of the remainder cells (never released: derived, if at all)."""
        return range(self.labelled, len(self.names))

    def movable(self, j: int, hidden: set[int]) -> bool:
        """Whether hidden cell ``j`` can take another value (see the module docstring)."""
        steps = [MAX_STEPS]
        for sign in (1, -1):
            if not 0 <= self.value[j] + sign <= self.upper[j]:
                continue
            imbalance = [0] * len(self.equations)
            for e in self.of_cell[j]:
                imbalance[e] += self.equations[e][j] * sign
            if self._balance({j: sign}, imbalance, hidden, steps):
                return True
        return False

    def _balance(
        self, move: dict[int, int], imbalance: list[int], hidden: set[int], steps: list[int]
    ) -> bool:
        """Extend ``move`` until every equation balances (depth-first, bounded)."""
        steps[0] -= 1
        if steps[0] < 0:
            return False
        e = next((e for e, total in enumerate(imbalance) if total), None)
        if e is None:
            return True
        want = -1 if imbalance[e] > 0 else 1  # the sign the next term c * d_v must have
        equations, of_cell, value, upper = self.equations, self.of_cell, self.value, self.upper
        for v, c in equations[e].items():
            if v in move or v not in hidden or c == 0:
                continue
            sign = want if c > 0 else -want
            if not 0 <= value[v] + sign <= upper[v]:
                continue
            move[v] = sign
            for f in of_cell[v]:
                imbalance[f] += equations[f][v] * sign
            if self._balance(move, imbalance, hidden, steps):
                return True
            for f in of_cell[v]:
                imbalance[f] -= equations[f][v] * sign
            del move[v]
            if steps[0] < 0:
                return False
        return False

    def small_withheld_sum(self, hidden: set[int], floor: int) -> int | None:
        """A remainder whose released parent leaves its withheld cells 1..floor-1 in all.

        ``None`` when there is none.
        """
        for e, equation in enumerate(self.equations):
            parent = next(v for v, c in equation.items() if c > 0)
            if parent in hidden:
                continue
            rest = sum(self.value[v] for v, c in equation.items() if c < 0 and v in hidden)
            if 0 < rest < floor:
                return self.labelled + e
        return None

    def neighbours(self, j: int) -> Iterable[int]:
        """Labelled cells that share an equation with cell ``j``."""
        for e in self.of_cell[j]:
            yield from (v for v in self.equations[e] if v < self.labelled and v != j)


def complementary_suppression(
    system: PartitionSystem,
    suppressed: Iterable[str],
    protect_remainder: Iterable[int],
    keep_last: str,
    *,
    protect: Iterable[str] | None = None,
    floor: int = 0,
) -> set[str] | None:
    """Labelled cells to withhold so that none of them, nor a protected remainder, is derivable.

    Starts from ``suppressed`` (the cells under the floor; with ``protect``, only those
    must stay undetermined) and, while some protected cell is still determined,
    withholds the smallest released cell sharing a partition with it (any released cell
    when none does; ``keep_last`` only when nothing else is left), which is protected in
    turn. With ``floor``, what a released parent leaves to its withheld cells (their sum,
    which the attacker knows) must meet it too, so that no withheld cell is bounded
    under the floor by its partition. ``None`` when even that cannot protect every cell
    (then the caller collapses).
    """
    index = system.index
    start = [index[name] for name in suppressed]
    hidden = set(start) | set(system.remainders)
    guarded = start if protect is None else [index[name] for name in protect]
    guarded += list(protect_remainder)
    if not guarded:
        return {system.names[i] for i in start}
    last = index[keep_last]
    proven: set[int] = set()  # withholding more only adds moves: a proof stays valid
    while True:
        exposed = None
        for j in guarded:
            if j in proven:
                continue
            if not system.movable(j, hidden):
                exposed = j
                break
            proven.add(j)
        if exposed is None:
            exposed = system.small_withheld_sum(hidden, floor)
        if exposed is None:
            return {system.names[i] for i in hidden if i < system.labelled}
        candidates = [v for v in system.neighbours(exposed) if v not in hidden and v != last]
        if not candidates:
            candidates = [v for v in range(system.labelled) if v not in hidden and v != last]
        if not candidates:
            if last in hidden:
                return None
            candidates = [last]
        pick = min(candidates, key=lambda v: (system.value[v], system.names[v]))
        hidden.add(pick)
        guarded.append(pick)
