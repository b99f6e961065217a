"""Fixtures of the tracing tests."""

from __future__ import annotations

import opentelemetry.sdk.trace as sdk_trace
import pytest


@pytest.fixture
def live_spans(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every SDK ``Span`` constructed while the test runs."""
    made: list[object] = []
    original = sdk_trace.Span.__init__

    def counting(self: object, *args: object, **kwargs: object) -> None:
        made.append(self)
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sdk_trace.Span, "__init__", counting)
    return made
