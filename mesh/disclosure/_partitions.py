"""Which population rows partition which: the label rule (GDI labels) and declarations.

The rule reads labels as the GDI shapes write them, the dataset row being ``Total``:

* ``M`` and ``F`` split ``Total`` by sex;
* two capital letters (``FR``, ``NO``) are countries of birth and split ``Total``;
  any other label without a sex suffix (``NFE``, ``AFR``) is an ancestry group, and
  the ancestry groups split ``Total`` too (a second, separate partition);
* ``<G>_M`` / ``<G>_F`` split group ``G`` by sex, and the ``<G>_M`` of one kind
  (countries, or ancestry groups) split ``M`` (likewise ``F``).

Every partition may be incomplete: what its cells leave of the parent is one more
cell, the remainder. Labels the rule would misread (two kinds of two-letter codes, a
sex written another way) need the dataset's ``partitions`` declared in node.toml;
declared partitions replace the rule for that dataset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mesh.disclosure._search import Partition

ROOT = "Total"
SEXES = ("M", "F")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SPLIT = re.compile(r"^(.+)_([MF])$")


def derive_partitions(labels: Iterable[str]) -> list[Partition]:
    """The partitions the label rule reads from ``labels`` (the root need not be listed)."""
    present = [label for label in dict.fromkeys(labels) if label != ROOT]
    known = set(present)
    sexes = [s for s in SEXES if s in known]
    groups: dict[str, list[str]] = {"country": [], "ancestry": []}
    splits: dict[str, dict[str, list[str]]] = {s: {"country": [], "ancestry": []} for s in SEXES}
    by_group: dict[str, list[str]] = {}
    for label in present:
        if label in SEXES:
            continue
        split = _SPLIT.match(label)
        if split:
            group, sex = split.groups()
            splits[sex][_kind(group)].append(label)
            by_group.setdefault(group, []).append(label)
        else:
            groups[_kind(label)].append(label)
    partitions = []
    if sexes:
        partitions.append(Partition(ROOT, tuple(sexes)))
    partitions += [Partition(ROOT, tuple(g)) for g in groups.values() if g]
    partitions += [
        Partition(group, tuple(parts)) for group, parts in by_group.items() if group in known
    ]
    for sex in sexes:
        partitions += [Partition(sex, tuple(p)) for p in splits[sex].values() if p]
    return partitions


def _kind(group: str) -> str:
    return "country" if _COUNTRY.match(group) else "ancestry"


def usable_partitions(partitions: Sequence[Partition], labels: Iterable[str]) -> list[Partition]:
    """``partitions`` restricted to the rows present for one variant.

    A cell without a row (not in the source, or left out by ``min_population_size``)
    falls into its partition's remainder; a partition whose parent has no row is left
    out (nothing to subtract from).
    """
    known = set(labels) | {ROOT}
    kept = []
    for part in partitions:
        children = tuple(c for c in part.children if c in known and c != part.parent)
        if part.parent in known and children:
            kept.append(Partition(part.parent, children))
    return kept
