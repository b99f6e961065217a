"""``[[datasets]]`` of ``node.toml``: one served index and the rules of its release.

Access (``allow``, ``granularity``), disclosure control (floors, rounding, partitions,
``on_suppression``) and the query budget of one dataset; :mod:`mesh.config` reads the
rest of the file. Every key is in the README's configuration reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mesh.config.table import Table, read_path, read_toml


@dataclass(frozen=True)
class DatasetConfig:
    """``[[datasets]]``: one index directory served by a node, and its release policy."""

    id: str
    index: Path
    log_queries: bool = False
    #: SPIFFE ID patterns that may query; ``None`` means everyone.
    allow: tuple[str, ...] | None = None
    #: pattern -> ``boolean`` | ``count`` | ``record`` (default ``record``).
    granularity: Mapping[str, str] = field(default_factory=dict)
    min_allele_count: int = 0
    round_counts_to: int = 0
    min_population_size: int = 0
    #: Floor in individuals (two-tailed; ``min_allele_count`` is its allele form).
    min_individuals: int = 0
    #: ``suppress`` (complementary suppression) or ``collapse`` (rows to the total).
    on_suppression: str = "suppress"
    #: Declared population partitions ``(parent, cells)``; ``None``: the label rule.
    partitions: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    #: ``(lookups, per_seconds)``: rows per origin per sliding window (nodes.serve.budgets).
    query_budget: tuple[int, float] | None = None


_GRANULARITIES = ("boolean", "count", "record")
_SPIFFE_PATTERN = re.compile(r"^(\*|spiffe://[A-Za-z0-9.*-]+(/[A-Za-z0-9._*-]+)*)$")


def parse_dataset(
    table: Table, dataset_id: str, base: Path, *, index_exists: bool = True
) -> DatasetConfig:
    """One ``[[datasets]]`` table of node.toml (its ``id`` already read).

    ``index_exists=False``: the index may be missing (not built yet: ``index preview``).
    """
    allow: tuple[str, ...] | None = None
    if "allow" in table.data:
        raw = table.get("allow", list, required=True)
        if not all(isinstance(p, str) and _SPIFFE_PATTERN.match(p) for p in raw):
            raise table.fail(
                "allow",
                "must be a list of SPIFFE ID patterns such as "
                '"spiffe://allelemesh.example/country/*/gateway/*" (or "*")',
            )
        allow = tuple(raw)
    granularity: dict[str, str] = {}
    grain_table = table.table("granularity")
    if grain_table is not None:
        for pattern, value in grain_table.data.items():
            if value not in _GRANULARITIES:
                raise grain_table.fail(
                    pattern, f"{value!r} must be one of {', '.join(_GRANULARITIES)}"
                )
            if allow is None or pattern not in allow:
                raise grain_table.fail(pattern, "names a pattern that is not in allow")
            granularity[pattern] = value
    round_to = table.get("round_counts_to", int, 0)
    if round_to not in (0, 1, 10, 100):
        raise table.fail("round_counts_to", "must be 10 or 100 (or 0 for no rounding)")
    budget = None
    budget_table = table.table("query_budget")
    if budget_table is not None:
        lookups = budget_table.get("lookups", int, required=True)
        per_seconds = budget_table.get("per_seconds", float, required=True)
        if lookups < 1 or per_seconds <= 0:
            raise budget_table.fail("lookups", "lookups and per_seconds must be positive")
        budget_table.reject_unknown()
        budget = (lookups, per_seconds)
    minimums = {}
    for key in ("min_allele_count", "min_population_size", "min_individuals"):
        minimums[key] = table.get(key, int, 0)
        if minimums[key] < 0:
            raise table.fail(key, "must not be negative")
    return DatasetConfig(
        id=dataset_id,
        index=read_path(table, "index", base, must_exist=index_exists)
        if index_exists or "index" in table.data
        else Path(),
        log_queries=table.get("log_queries", bool, False),
        allow=allow,
        granularity=granularity,
        round_counts_to=round_to,
        query_budget=budget,
        on_suppression=_on_suppression(table),
        partitions=_partitions(table),
        **minimums,
    )


_ON_SUPPRESSION = ("suppress", "collapse")


def _on_suppression(table: Table) -> str:
    value = table.get("on_suppression", str, "suppress")
    if value not in _ON_SUPPRESSION:
        raise table.fail("on_suppression", f"{value!r} must be one of {', '.join(_ON_SUPPRESSION)}")
    return value


def _partitions(table: Table) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """``partitions = [{ of = "Total", cells = ["M", "F"] }, ...]``: declared partitions."""
    raw = table.optional("partitions", list)
    if raw is None:
        return None
    declared = []
    for i, entry in enumerate(raw):
        parent = entry.get("of") if isinstance(entry, dict) else None
        cells = entry.get("cells") if isinstance(entry, dict) else None
        if not (isinstance(parent, str) and parent and isinstance(cells, list) and cells
                and set(entry) == {"of", "cells"} and len(set(cells)) == len(cells)
                and all(isinstance(c, str) and c and c != parent for c in cells)):  # fmt: skip
            raise table.fail(
                f"partitions[{i}]",
                'must be { of = "<label>", cells = ["<label>", ...] } with distinct cells',
            )
        declared.append((parent, tuple(cells)))
    return tuple(declared)


def load_dataset_policy(path: Path, dataset_id: str | None = None) -> DatasetConfig:
    """A dataset's release rules from ``path``, for ``index preview/build --policy``.

    ``path`` is a node.toml (the ``[[datasets]]`` entry ``dataset_id``, or its only one)
    or a file holding one dataset's keys at the top level (``min_individuals = 5`` ...);
    the index need not exist yet, and other tables of a node.toml are not read.
    """
    root = Table(str(path), "", read_toml(path))
    if "datasets" not in root.data:
        given = root.optional("id", str)
        config = parse_dataset(root, given or dataset_id or "", path.parent, index_exists=False)
        root.reject_unknown()
        return config
    tables = root.tables("datasets")
    ids = [t.data.get("id") for t in tables]
    if dataset_id is None and len(tables) == 1:
        dataset_id = str(ids[0])
    if dataset_id not in ids:
        listed = ", ".join(map(str, ids)) or "none"
        raise root.fail(
            "datasets", f"has no dataset {dataset_id!r} (give --dataset; listed: {listed})"
        )
    table = tables[ids.index(dataset_id)]
    table.get("id", str, required=True)
    config = parse_dataset(table, str(dataset_id), path.parent, index_exists=False)
    table.reject_unknown()
    return config
