"""Test folders mirror the packages: a module's tests are found by its path.

``tests/nodes/build/`` holds the tests of ``nodes/build/``, ``tests/mesh/security/`` those
of ``mesh/security/``; only the suites that cross every package stand apart at the top.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
#: Suites that exercise the whole system rather than one package.
CROSS_CUTTING = frozenset({"faults", "fuzz", "load", "pages", "deploy", "bench", "hail"})
PACKAGES = frozenset({"mesh", "nodes", "gateway"})


def misplaced_folders(tests: Path, repo: Path) -> list[str]:
    """Test folders that neither mirror a package folder nor are a cross-cutting suite."""
    problems = []
    # Folders with Python files (a checkout's leftover __pycache__ folders do not count).
    folders = {f.parent for f in tests.rglob("*.py")} - {tests}
    for folder in sorted(folders):
        relative = folder.relative_to(tests)
        if relative.parts[0] in CROSS_CUTTING:
            continue
        if relative.parts[0] not in PACKAGES:
            problems.append(f"tests/{relative}: no package {relative.parts[0]}/")
        elif not (repo / relative / "__init__.py").is_file():
            problems.append(f"tests/{relative}: {relative}/ is no package")
    return problems


def test_every_test_folder_mirrors_a_package_or_is_a_cross_cutting_suite():
    assert misplaced_folders(TESTS, REPO) == []


def test_a_folder_named_after_no_package_is_found(tmp_path: Path):
    repo = tmp_path
    (repo / "nodes" / "serve").mkdir(parents=True)
    (repo / "nodes" / "serve" / "__init__.py").write_text("")
    for folder in ("nodes/serve", "nodes/old_name", "http", "faults/anything"):
        (repo / "tests" / folder).mkdir(parents=True)
        (repo / "tests" / folder / "test_x.py").write_text("")
    (repo / "tests" / "tracing" / "__pycache__").mkdir(parents=True)  # leftovers: not a folder
    (repo / "tests" / "tracing" / "__pycache__" / "old.cpython-311.pyc").write_text("")
    assert misplaced_folders(repo / "tests", repo) == [
        "tests/http: no package http/",
        "tests/nodes/old_name: nodes/old_name/ is no package",
    ]
