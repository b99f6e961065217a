"""Audit logs of nodes and gateways: one JSON line per request, appended to a file.

Each line records who asked: ``peer`` (the immediate caller's verified identity),
``forwarder`` (the peer, when it forwarded someone else's request), ``origin`` (whom the
request was answered for: the verified origin, ``unverified`` when a forwarder claimed
one it could not prove, else the peer) and ``origin_status`` (``direct``, ``verified``,
``unverified`` or ``ignored``: a direct caller sent origin metadata it may not send);
what was asked for (method and dataset ids, never variant coordinates), how many
results left, the status, and the trace id.

The file is opened once at start with ``O_APPEND``; a file that cannot be written, or
a file system without room, stops the node at start instead of being discovered
later. A write that fails while serving is logged as an error and counted.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mesh.errors import ConfigError, MeshError
from mesh.plumbing.callctx import DIRECT, UNVERIFIED, CallContext
from mesh.tracing import current_trace_id

log = logging.getLogger(__name__)

#: Refuse to start with less free space than this under the audit file.
MIN_FREE_BYTES = 1 << 20


@dataclass(frozen=True)
class AuditRecord:
    """One request, as the audit log keeps it."""

    peer: str
    origin: str
    method: str
    dataset_ids: tuple[str, ...]
    #: Results that left (``None``: not known where the record is written).
    results: int | None
    status: str
    trace_id: str
    forwarder: str = ""
    origin_status: str = DIRECT

    @classmethod
    def of_call(
        cls,
        call: CallContext,
        method: str,
        dataset_ids: tuple[str, ...],
        results: int | None,
        status: str,
        trace_id: str,
    ) -> AuditRecord:
        """The record of one request answered under ``call``."""
        forwarder = call.forwarder
        origin_status = call.origin_status
        origin = UNVERIFIED if origin_status == UNVERIFIED else call.principal.name
        return cls(
            call.caller_name,
            origin,
            method,
            dataset_ids,
            results,
            status,
            trace_id or call.trace_id,
            forwarder.name if forwarder is not None else "",
            origin_status,
        )

    def to_json(self) -> str:
        """The JSON line (without the newline)."""
        return json.dumps(
            {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "peer": self.peer,
                "forwarder": self.forwarder,
                "origin": self.origin,
                "origin_status": self.origin_status,
                "method": self.method,
                "dataset_ids": list(self.dataset_ids),
                "results": self.results,
                "status": self.status,
                "trace_id": self.trace_id,
            },
            separators=(",", ":"),
        )


class AuditLog:
    """An append-only JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed_writes = 0
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        except OSError as exc:
            raise ConfigError(f"[audit].path: cannot open {path} for appending: {exc}") from None
        free = shutil.disk_usage(path.parent).free
        if free < MIN_FREE_BYTES:
            os.close(self._fd)
            raise ConfigError(
                f"[audit].path: the file system of {path} is full ({free} bytes free)"
            )

    def write(self, record: AuditRecord) -> None:
        """Append one record; a failure is logged, never raised into the request."""
        line = (record.to_json() + "\n").encode("utf-8")
        try:
            with self._lock:
                os.write(self._fd, line)
        except OSError as exc:
            self.failed_writes += 1
            log.error("audit record not written to %s: %s", self.path, exc)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


@dataclass
class AuditedCall:
    """What one RPC's audit record will say; the handler fills in what left."""

    datasets: tuple[str, ...] = ("*",)
    results: int = 0


class audited:  # noqa: N801 - used as a function: ``with audited(log, call, method)``
    """Write one record for the RPC run inside (when there is a log), however it ends.

    The status is ``OK``, the :class:`~mesh.errors.MeshError`'s code, or ``INTERNAL``
    for anything else: the one rule of nodes and gateways. A class rather than a
    generator-based context manager: it runs on every RPC, audit log or not.
    """

    __slots__ = ("_audit", "_call", "_entry", "_method")

    def __init__(self, audit: AuditLog | None, call: CallContext, method: str) -> None:
        self._audit, self._call, self._method = audit, call, method
        self._entry = AuditedCall()

    def __enter__(self) -> AuditedCall:
        return self._entry

    def __exit__(self, kind: type[BaseException] | None, error: object, _tb: object) -> None:
        if self._audit is None:
            return
        if kind is None:
            status = "OK"
        elif isinstance(error, MeshError):
            status = error.code.name
        elif issubclass(kind, Exception):
            status = "INTERNAL"
        else:
            status = "OK"  # cancelled (BaseException): as the generator version recorded it
        entry = self._entry
        record = AuditRecord.of_call(
            self._call, self._method, entry.datasets, entry.results, status, current_trace_id()
        )
        self._audit.write(record)
