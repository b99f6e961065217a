"""Promote a built index from one tier to another without rebuilding it.

An index version directory is immutable, so a promotion is recorded *beside* it, in
``.DIR.versions/<build-id>.tiers.json``: the tier it was built in (from its
``dataset.json``) and each promotion with its time. The record belongs to that build id:
a rebuild makes a new version that starts unpromoted. Procedure (README, "Tiers"):

1. build in staging: ``allelemesh index build ... --tier staging --out /srv/idx/ds``;
2. check it there (``allelemesh mesh check`` from the staging gateway, canaries);
3. copy the version directory to the production node unchanged (same bytes; compare
   ``allelemesh index info --json`` ``source_sha256`` and the ``data.mdb`` checksum);
4. on the production node: ``allelemesh index promote /srv/idx/ds --to-tier production``,
   then point ``[[datasets]].index`` at it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mesh.config.tiers import validate_tier
from mesh.errors import IndexStoreError
from nodes.index.index_dir import read_metadata, utc_now

SUFFIX = ".tiers.json"


def record_path(directory: Path) -> Path:
    """Where the tier record of the version ``directory`` (or the symlink to it) lives."""
    version = directory.resolve()
    return version.parent / f"{version.name}{SUFFIX}"


def tier_record(directory: Path) -> dict[str, Any]:
    """``{"build_id", "built_tier", "promotions": [{"tier", "from_tier", "promoted_at"}]}``."""
    metadata = read_metadata(directory)
    path = record_path(directory)
    base: dict[str, Any] = {
        "build_id": directory.resolve().name,
        "built_tier": metadata.built_tier,
        "promotions": [],
    }
    if not path.exists():
        return base
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStoreError(f"index {directory}: cannot read {path}: {exc}") from exc
    base["promotions"] = list(data.get("promotions", []))
    return base


def current_tier(record: dict[str, Any]) -> str:
    """The tier the index is in now: its last promotion, else where it was built."""
    promotions = record["promotions"]
    return str(promotions[-1]["tier"]) if promotions else str(record["built_tier"])


def promote(directory: Path, to_tier: str) -> dict[str, Any]:
    """Record that the index at ``directory`` now serves ``to_tier``; returns the record."""
    validate_tier(to_tier, "index promote: --to-tier")
    record = tier_record(directory)
    now = current_tier(record)
    if now == to_tier:
        raise IndexStoreError(f"index {directory} is already in tier {to_tier!r}")
    record["promotions"].append(
        {"tier": to_tier, "from_tier": now or "unrecorded", "promoted_at": utc_now()}
    )
    path = record_path(directory)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # the version directory itself is never touched
    return record
