import logging

import pytest


@pytest.fixture(autouse=True)
def _quiet_progress(monkeypatch):
    """Builds in tests log plainly (no rich bar)."""
    logging.getLogger("nodes").setLevel(logging.INFO)
