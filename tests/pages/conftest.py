"""Fixtures for the browser tests: a real mesh with its HTTP API, and Debian's Chromium.

Chromium is driven by Playwright (the ``playwright`` wheel's driver; no browser
download): ``/usr/bin/chromium`` or ``$ALLELEMESH_CHROMIUM``. Without it the tests
skip locally and fail in CI (``CI=true``), where ``make browser-deps`` installs it.
Screenshots go to ``test-artifacts/pages/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pages.mesh_data import RunningMesh, running_mesh

try:
    from playwright.sync_api import expect
except ImportError:  # the browser_context fixture says what is missing
    expect = None

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "pages"
CHROMIUM = Path(os.environ.get("ALLELEMESH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 900}


def _unavailable(reason: str) -> None:
    message = f"browser tests need {reason}; run `make browser-deps` (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMesh]:
    with running_mesh(tmp_path_factory.mktemp("pages-mesh")) as running:
        yield running


# Module scope, not session: Playwright's sync API runs an event loop in this thread
# while it is open, and the suite's asyncio tests need the thread without one.
@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    if expect is None:
        _unavailable("the playwright package (pip install -e '.[dev]')")
    from playwright.sync_api import sync_playwright

    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium at {CHROMIUM}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
            locale="en-US",
        )
        context.set_default_timeout(10_000)
        expect.set_options(timeout=10_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser_context, mesh: RunningMesh) -> Iterator:
    """A fresh tab; JavaScript errors on the page fail the test."""
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield tab
    finally:
        tab.close()
    # A failed fetch (503 from a dead mesh, 400 from a bad query) logs a console error by design.
    unexpected = [e for e in errors if "Failed to load resource" not in e]
    assert not unexpected, f"errors in the page: {unexpected}"


def screenshot(tab, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot of the tab as a test artifact."""
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=full_page)
    return path


def screenshot_for_docs(tab, name: str) -> None:
    """Refresh a screenshot under docs/ (only when asked: it is a committed file).

    ``ALLELEMESH_UPDATE_DOCS_SCREENSHOTS=1 pytest tests/pages`` writes the visible part
    of the page (not the full length), to keep the file small.
    """
    if os.environ.get("ALLELEMESH_UPDATE_DOCS_SCREENSHOTS"):
        tab.screenshot(path=str(REPO / "docs" / name), full_page=False)
