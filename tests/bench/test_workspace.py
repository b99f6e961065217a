"""The bench's index cache is keyed by the index schema and the builder's code."""

from __future__ import annotations

from pathlib import Path

from bench.workspace import Settings, Workspace, builder_identity, code_digest
from nodes.index.index_dir import SCHEMA_VERSION


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_changed_source_file_or_schema_changes_the_key(tmp_path: Path) -> None:
    code = _tree(tmp_path / "a", {"builder.py": "X = 1\n", "sub/keys.py": "Y = 2\n"})
    before = code_digest(3, {"nodes.build": code})
    assert code_digest(3, {"nodes.build": code}) == before  # stable
    assert code_digest(4, {"nodes.build": code}) != before
    (code / "sub" / "keys.py").write_text("Y = 3\n", encoding="utf-8")
    assert code_digest(3, {"nodes.build": code}) != before
    (code / "sub" / "keys.py").write_text("Y = 2\n", encoding="utf-8")
    (code / "notes.txt").write_text("not code\n", encoding="utf-8")
    assert code_digest(3, {"nodes.build": code}) == before


def test_indexes_are_cached_under_the_schema_and_code_of_this_checkout(tmp_path: Path) -> None:
    identity = builder_identity()
    assert identity.startswith(f"s{SCHEMA_VERSION}-")
    ws = Workspace(tmp_path, Settings.smoke())
    assert ws.index_root == tmp_path / "index" / identity
