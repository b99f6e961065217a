"""Files the tests read from ``../shared`` (never copied into the project).

``../shared`` sits beside the checkout in CI and on the team's machines: the Beacon v2
schemas, the GDI metadata shapes, the portal's contract. A fresh clone elsewhere does not
have it, so a test that needs one of its files calls :func:`shared_path`, which returns
the path when the file is there and otherwise

- skips the test with one line naming what is missing and where to get it, or
- fails it under ``CI=true`` (CI always has the folder: a missing file there is a bug).

``ALLELEMESH_SHARED`` points at another folder. The root ``tests/conftest.py`` counts these
skips at the end of the run, so ``make test`` says how many tests did not run and why.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

#: Every skip for a missing shared file starts with this (the terminal summary counts them).
SKIP_PREFIX = "needs a file from ../shared:"

#: Where each top-level folder of ``../shared`` comes from.
SOURCES = {
    "beacon-v2": "the Beacon v2 schemas (github.com/ga4gh-beacon/beacon-v2, tag v2.1.1)",
    "gdi-metadata": "the GDI metadata shapes, https://github.com/GenomicDataInfrastructure",
    "gdi-portal": "the GDI portal's contract (gvariants.yaml), from the GDI portal team",
}


def in_ci() -> bool:
    """True when running under CI (``CI=true``, ``1`` or ``yes``)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _main_checkout(repo: Path) -> Path | None:
    """The main checkout when ``repo`` is a git worktree (its ``.git`` is a file)."""
    dotgit = repo / ".git"
    if not dotgit.is_file():
        return None
    gitdir = Path(dotgit.read_text(encoding="utf-8").partition("gitdir:")[2].strip())
    common = gitdir / "commondir"
    if not common.is_file():
        return None
    return (gitdir / common.read_text(encoding="utf-8").strip()).resolve().parent


@functools.cache
def shared_root() -> Path:
    """``$ALLELEMESH_SHARED``, or ``../shared`` beside the checkout (or beside the main
    checkout, for a git worktree)."""
    override = os.environ.get("ALLELEMESH_SHARED")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[1]
    beside = repo.parent / "shared"
    main = _main_checkout(repo)
    if not beside.is_dir() and main is not None and (main.parent / "shared").is_dir():
        return main.parent / "shared"
    return beside


def missing(what: str, where: Path, source: str, into: Path) -> None:
    """Skip (fail under CI): ``what`` is not at ``where``; put ``source`` into ``into``."""
    message = (
        f"{SKIP_PREFIX} {what} not found at {where}; put {source} in {into} "
        "(beside the checkout), or set ALLELEMESH_SHARED to the folder that holds it"
    )
    if in_ci():
        pytest.fail(f"{message} (CI=true: CI must have it)", pytrace=False)
    pytest.skip(message)


def shared_path(*parts: str) -> Path:
    """The path of ``../shared/<parts...>``; skips (fails under CI) when it does not exist."""
    if not parts:
        raise ValueError("shared_path needs at least one path part")
    root = shared_root()
    path = root.joinpath(*parts)
    if not path.exists():
        source = SOURCES.get(parts[0], f"the '{parts[0]}' folder of ../shared")
        missing("/".join(parts), path, source, root / parts[0])
    return path
