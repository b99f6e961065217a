"""The import layers, checked over every module's source with the standard library's ``ast``.

``mesh`` is built in layers, each a package with one job, each importing only the layers
below it (``LAYERS``, bottom first). Packages named in one row are independent: neither
imports the other. Above ``mesh`` sit ``nodes`` (the index format, then its two halves,
building and serving, which meet only at that format, then its CLIs) and ``gateway``;
``nodes`` and ``gateway`` never import each other. The composition root (``mesh.cli``'s
``__init__``, ``mesh.__main__``) is the one module that may import them all.

Every import counts: module level, inside functions (lazy imports) and under
``TYPE_CHECKING``. A module that no row names fails the test, so a new package must be
given its place here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mesh", "nodes", "gateway")

#: Bottom first. A row's packages are independent of each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("mesh.errors",),
    ("mesh.model",),  # the variant model
    ("mesh.disclosure", "mesh.fdp"),  # rules over the model: disclosure control, FAIR metadata
    ("mesh.config",),
    ("mesh.security",),
    ("mesh.plumbing",),  # rpc, call context, channels, ports, logs
    ("mesh.tracing",),  # tracing and metrics
    ("mesh.server",),  # serving, guard, audit, config checks
    ("mesh.federation",),
    ("mesh.annotate", "mesh.check"),
    ("mesh.cli",),  # the command groups of mesh and their helpers (not the root)
    ("nodes.index",),  # the index format
    ("nodes.build", "nodes.serve"),  # the two halves
    ("nodes", "gateway"),  # nodes: its CLIs; never each other
    ("=mesh.cli",),  # the composition root
    ("=mesh.__main__",),  # python -m mesh
)

#: Programs that never import each other, whatever their layers: their shared code is in mesh.
INDEPENDENT = (("nodes", "gateway"),)
ACROSS = "nodes and gateway never import each other"

#: Not part of the layering: generated code and the empty top-level packages.
IGNORED = ("mesh.v1", "=mesh", "=nodes", "=gateway")


def _matches(entry: str, module: str) -> int:
    """How specific ``entry`` is for ``module`` (0: no match); ``=x`` matches x alone."""
    if entry.startswith("="):
        return 1000 if module == entry[1:] else 0
    if module == entry or module.startswith(entry + "."):
        return len(entry)
    return 0


@dataclass(frozen=True)
class Place:
    """A module's layer (row) and the package within that row it belongs to."""

    row: int
    group: str


def place_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> Place | None:
    """The most specific row entry naming ``module``; None when no row does."""
    best: tuple[int, Place] | None = None
    for row, entries in enumerate(layers):
        for entry in entries:
            score = _matches(entry, module)
            if score and (best is None or score > best[0]):
                best = (score, Place(row, entry))
    return None if best is None else best[1]


def ignored(module: str) -> bool:
    """Generated code and bare top-level packages are outside the layering."""
    return any(_matches(entry, module) for entry in IGNORED)


def module_name(root: Path, path: Path) -> str:
    """``mesh/model/genome.py`` -> ``mesh.model.genome``; an ``__init__`` is its package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: Path, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Every module under ``packages`` -> the project modules it imports (all imports)."""
    sources = {
        module_name(root, path): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }
    known = set(sources)
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        targets: set[str] = set()
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(module, is_package, node.module, node.level)
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    targets.add(candidate if candidate in known else base)
        graph[module] = {t for t in targets if t.split(".")[0] in PACKAGES and t != module}
    return graph


def _absolute(module: str, is_package: bool, target: str | None, level: int) -> str:
    """The absolute name a (possibly relative) ``from ... import`` names."""
    if level == 0:
        return target or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def violations(
    graph: Mapping[str, Iterable[str]], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """Each import that goes up a layer or across to an independent package, as a sentence."""
    found = []
    for module, targets in sorted(graph.items()):
        here = place_of(module, layers)
        if here is None:
            continue  # reported by unplaced()
        for target in sorted(targets):
            there = place_of(target, layers)
            if ignored(target) or there is None:
                continue
            if _across_programs(module, target):
                found.append(
                    f"{module} imports {target}: nodes and gateway never import each other"
                )
            elif there.row > here.row:
                found.append(f"{module} ({here.group}) imports {target} ({there.group}), above it")
            elif there.row == here.row and there.group != here.group:
                found.append(
                    f"{module} ({here.group}) imports {target} ({there.group}): "
                    "independent packages"
                )
    return found


def _across_programs(module: str, target: str) -> bool:
    return any(
        (_matches(a, module) and _matches(b, target))
        or (_matches(b, module) and _matches(a, target))
        for a, b in INDEPENDENT
    )


def unplaced(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Modules that no layer row names (a new package must be given its place)."""
    return sorted(m for m in graph if not ignored(m) and place_of(m) is None)


# --- the project ------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    graph = import_graph(ROOT)
    assert len(graph) > 100  # the scan really read the packages
    assert unplaced(graph) == []


def test_no_import_goes_up_a_layer_or_across() -> None:
    assert violations(import_graph(ROOT)) == []


# --- the check itself fails on a back-edge ----------------------------------------------


def _write(root: Path, files: Mapping[str, str]) -> None:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, "utf-8")


def _tree(root: Path, extra: Mapping[str, str]) -> dict[str, set[str]]:
    """A small tree shaped like the project, plus ``extra`` files."""
    base = {
        "mesh/__init__.py": "",
        "mesh/errors.py": "",
        "mesh/model/__init__.py": "",
        "mesh/model/genome.py": "from mesh.errors import x\n",
        "mesh/security/__init__.py": "",
        "mesh/security/tls.py": "from mesh.model import genome\n",
        "mesh/cli/__init__.py": "def main():\n    from nodes import node_cli\n",
        "mesh/cli/tables.py": "",
        "nodes/__init__.py": "",
        "nodes/node_cli.py": "from mesh.cli import tables\nfrom nodes.serve import server\n",
        "nodes/index/__init__.py": "",
        "nodes/index/keys.py": "",
        "nodes/build/__init__.py": "",
        "nodes/build/builder.py": "from nodes.index import keys\n",
        "nodes/serve/__init__.py": "",
        "nodes/serve/server.py": "from ..index import keys\n",
        "gateway/__init__.py": "",
        "gateway/server.py": "from mesh.security.tls import y\n",
    }
    _write(root, {**base, **extra})
    return import_graph(root)


def test_a_clean_tree_passes(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {})
    assert graph["nodes.serve.server"] == {"nodes.index.keys"}  # relative import resolved
    assert graph["mesh.cli"] == {"nodes.node_cli"}  # a lazy import counts
    assert violations(graph) == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (  # the variant model reaching up into security
            {"mesh/model/genome.py": "from mesh.security.tls import context\n"},
            "mesh.model.genome (mesh.model) imports mesh.security.tls (mesh.security), above it",
        ),
        (  # under TYPE_CHECKING still counts
            {
                "mesh/errors.py": (
                    "from typing import TYPE_CHECKING\n"
                    "if TYPE_CHECKING:\n    from mesh.model import genome\n"
                )
            },
            "mesh.errors (mesh.errors) imports mesh.model.genome (mesh.model), above it",
        ),
        (  # building reaching into serving
            {"nodes/build/builder.py": "import nodes.serve.server\n"},
            "nodes.build.builder (nodes.build) imports nodes.serve.server (nodes.serve): "
            "independent packages",
        ),
        (  # the gateway importing the node, lazily
            {"gateway/server.py": "def f():\n    from nodes.serve import server\n"},
            "gateway.server imports nodes.serve.server: nodes and gateway never import each other",
        ),
        (  # the gateway importing the node's CLI module
            {"gateway/server.py": "from nodes import node_cli\n"},
            "gateway.server imports nodes.node_cli: nodes and gateway never import each other",
        ),
        (  # the index format importing a half
            {"nodes/index/keys.py": "from ..build import builder\n"},
            "nodes.index.keys (nodes.index) imports nodes.build.builder (nodes.build), above it",
        ),
        (  # a mesh command group importing a node module
            {"mesh/cli/tables.py": "from nodes.index import keys\n"},
            "mesh.cli.tables (mesh.cli) imports nodes.index.keys (nodes.index), above it",
        ),
    ],
)
def test_a_back_edge_fails(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    assert violations(_tree(tmp_path, files)) == [expected]


def test_a_module_outside_every_layer_is_named(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {"mesh/newroom/__init__.py": "", "mesh/newroom/thing.py": ""})
    assert unplaced(graph) == ["mesh.newroom", "mesh.newroom.thing"]
