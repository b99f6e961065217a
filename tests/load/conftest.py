"""Reliability suite fixtures: ``figures`` (see :mod:`tests.faults.figures`)."""

from tests.faults.plugin import figures, pytest_runtest_makereport

__all__ = ["figures", "pytest_runtest_makereport"]
