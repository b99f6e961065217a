"""``audited``: one record per RPC with the status it ended with, none without a log."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from mesh.errors import NotFoundError
from mesh.plumbing.callctx import CallContext
from mesh.server.audit import AuditLog, audited


def records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("raised", "status"),
    [
        (None, "OK"),
        (NotFoundError("no such dataset"), "NOT_FOUND"),
        (KeyError("bug"), "INTERNAL"),
        (asyncio.CancelledError(), "OK"),  # as before: a cancelled call is not an error
    ],
)
def test_one_record_per_call_with_its_status(tmp_path, raised, status):
    log = AuditLog(tmp_path / "audit.jsonl")
    call = CallContext(None, "ab" * 16)
    expect = pytest.raises(type(raised)) if raised is not None else contextlib.nullcontext()
    with expect, audited(log, call, "LookupVariant") as entry:
        entry.results, entry.datasets = 3, ("ds-a",)
        if raised is not None:
            raise raised
    log.close()
    (record,) = records(tmp_path / "audit.jsonl")
    assert record["status"] == status
    assert record["method"] == "LookupVariant"
    assert record["dataset_ids"] == ["ds-a"]
    assert record["results"] == 3
    assert record["trace_id"] == "ab" * 16
    assert record["peer"] == "anonymous"


def test_no_log_no_record_and_errors_pass_through():
    with pytest.raises(NotFoundError), audited(None, CallContext(), "GetDataset"):
        raise NotFoundError("gone")
