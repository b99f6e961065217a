"""The node's read side of its indexes: open, look up, scan, and swap on rebuild.

Each dataset is one immutable index directory (see :mod:`nodes.index.index_dir`), opened
read-only and without LMDB's lock file: nothing writes to a built index, so readers
need no coordination. A rebuild points the dataset's path at a new version; the
store notices (poll or SIGHUP), opens the new version, swaps it in with one
attribute assignment, and closes the old one only after in-flight reads are done.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lmdb

from mesh.errors import ConfigError, IndexStoreError
from mesh.model.genome import Assembly
from mesh.v1 import catalog_service_pb2
from nodes.index.index_dir import DATA_FILE, DatasetMetadata, read_metadata, read_publication
from nodes.index.keys import PREFIX_LEN
from nodes.index.records import ValueCodec
from nodes.index.variant_ids import IDS_FILE, VariantIds, open_ids_env

log = logging.getLogger(__name__)

#: How long a replaced index stays open for reads that started before the swap.
RETIRE_AFTER_S = 30.0


# LMDB allows one environment per file per process; several nodes in one process (tests,
# a node that is also its own peer) share it, closed when the last handle goes: the data
# file and the rsID table alike. Keyed by the file's inode, not its path: ``index metadata
# --set-from`` makes a new version whose files are hard links to the current ones (same
# files, never written again).
_shared: dict[tuple[int, int], tuple[lmdb.Environment, int]] = {}
_shared_lock = threading.Lock()


def _open_shared(
    file: Path, opener: Callable[[], lmdb.Environment]
) -> tuple[lmdb.Environment, tuple[int, int]]:
    """The process's one environment of ``file`` (opened by ``opener`` the first time)."""
    with _shared_lock:
        stat = os.stat(file)
        key = stat.st_dev, stat.st_ino
        env, handles = _shared.get(key, (None, 0))
        if env is None:
            env = opener()
        _shared[key] = (env, handles + 1)
        return env, key


def _open_data(path: Path) -> lmdb.Environment:
    return lmdb.open(
        str(path), readonly=True, lock=False, max_readers=1024, readahead=False, subdir=True
    )


def _release_shared(key: tuple[int, int]) -> None:
    with _shared_lock:
        env, handles = _shared.pop(key, (None, 0))
        if env is None:
            return
        if handles > 1:
            _shared[key] = (env, handles - 1)
        else:
            env.close()


class DatasetIndex:
    """One opened version of one dataset's index."""

    def __init__(self, path: Path) -> None:
        self.link = path
        self.version_path = Path(os.path.realpath(path))
        try:
            self.metadata: DatasetMetadata = read_metadata(path)
            self.env, self._env_key = _open_shared(
                self.version_path / DATA_FILE, lambda: _open_data(self.version_path)
            )
        except (OSError, lmdb.Error) as exc:
            raise IndexStoreError(f"index {path}: cannot be opened: {exc}") from exc
        self.publication: catalog_service_pb2.DatasetMetadata | None = None
        try:
            self.publication = read_publication(self.version_path)
        except IndexStoreError as exc:
            # The Beacon still serves the dataset; only the catalogue lacks its metadata.
            log.error("%s; the dataset is served without publishable metadata", exc.message)
        #: The rsID table; None for an index built before it (``variant_ids`` false).
        self.variant_ids: VariantIds | None = None
        self._ids_key: tuple[int, int] | None = None
        if self.metadata.variant_ids:
            ids_file = self.version_path / IDS_FILE
            try:
                ids_env, self._ids_key = _open_shared(ids_file, lambda: open_ids_env(ids_file))
                self.variant_ids = VariantIds(ids_env)
            except (OSError, lmdb.Error) as exc:
                _release_shared(self._env_key)
                if self._ids_key is not None:
                    _release_shared(self._ids_key)
                raise IndexStoreError(f"index {path}: cannot open its rsID table: {exc}") from exc
        self._local = threading.local()
        self._txns: list[lmdb.Transaction] = []
        self.id = self.metadata.id
        self.assembly: Assembly = self.metadata.assembly
        try:
            #: Turns this index's stored values into served ``VariantFrequency`` bytes.
            self.codec = ValueCodec(self.id, self.metadata.groups)
        except ValueError:
            self.close()
            raise IndexStoreError(
                f"index {path}: dataset.json has no value layout (groups): rebuild it with "
                "`allelemesh index build`"
            ) from None

    def close(self) -> None:
        """Release this handle on the LMDB environment (and its read transactions)."""
        with _shared_lock:
            txns, self._txns = self._txns, []
        for txn in txns:
            txn.abort()
        if self._ids_key is not None:
            _release_shared(self._ids_key)
        _release_shared(self._env_key)

    def _txn(self) -> lmdb.Transaction:
        # One long-lived read transaction per thread: a built index is never written
        # again, so its snapshot never goes stale and pins nothing a writer needs, and a
        # point lookup saves the ~1 µs of beginning and ending a transaction.
        txn = getattr(self._local, "txn", None)
        if txn is None:
            txn = self.env.begin(buffers=False)
            self._local.txn = txn
            with _shared_lock:
                self._txns.append(txn)
        return txn

    def get_many(self, keys: Sequence[bytes]) -> list[bytes | None]:
        """Return the stored value of each key (``None`` where absent)."""
        get = self._txn().get
        return [get(key) for key in keys]  # type: ignore[misc]  # buffers=False: bytes

    @contextmanager
    def reader(self) -> Iterator[Callable[[bytes], memoryview | None]]:
        """A read transaction's ``get``, answering zero-copy views of the stored values.

        The views point into the memory map: use them (e.g. ``b"".join`` them into a
        response) inside the ``with`` block only.
        """
        with self.env.begin(buffers=True) as txn:
            yield txn.get

    def get(self, key: bytes) -> bytes | None:
        """Return the stored value of one key."""
        try:
            value: bytes | None = self._local.txn.get(key)
        except AttributeError:  # this thread's first lookup
            value = self._txn().get(key)  # type: ignore[assignment]  # buffers=False: bytes
        return value

    def scan(
        self, first_prefix: bytes, last_prefix: bytes, start_key: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Yield ``(key, value)`` with ``first <= key[:5] <= last`` in key order.

        With ``start_key``, start at the first key at or after it (resuming a page).
        """
        with self.env.begin(buffers=False) as txn:
            cursor = txn.cursor()
            start = first_prefix if start_key is None or start_key < first_prefix else start_key
            if not cursor.set_range(start):
                return
            for key, value in cursor.iternext():
                if key[:PREFIX_LEN] > last_prefix:
                    return
                yield key, value


@dataclass
class _DatasetSlot:
    """A configured dataset and the version of it currently served."""

    id: str
    path: Path
    log_queries: bool
    current: DatasetIndex


class IndexStore:
    """Every dataset a node serves, each swappable on rebuild."""

    def __init__(self, datasets: Sequence[tuple[str, Path, bool]]) -> None:
        self._slots: dict[str, _DatasetSlot] = {}
        self._retired: list[tuple[float, DatasetIndex]] = []
        #: Bumped whenever a dataset is swapped for a new version (caches of indexes check it).
        self.generation = 0
        for dataset_id, path, log_queries in datasets:
            index = DatasetIndex(path)
            if index.id != dataset_id:
                index.close()
                # A configuration mistake (exit 2), not a broken index.
                raise ConfigError(
                    f"[[datasets]] id {dataset_id!r}: index {path} holds dataset "
                    f"{index.id!r}; set id = {index.id!r} or point index at the right directory"
                )
            self._slots[dataset_id] = _DatasetSlot(dataset_id, path, log_queries, index)

    @property
    def dataset_ids(self) -> list[str]:
        """Every dataset id, sorted."""
        return sorted(self._slots)

    def datasets(self) -> list[DatasetIndex]:
        """The currently served version of every dataset, sorted by id."""
        return [self._slots[i].current for i in self.dataset_ids]

    def dataset(self, dataset_id: str) -> DatasetIndex | None:
        """The served version of one dataset, or ``None``."""
        slot = self._slots.get(dataset_id)
        return slot.current if slot else None

    def logs_queries(self, dataset_id: str) -> bool:
        """Whether the dataset opted in to having query coordinates logged."""
        slot = self._slots.get(dataset_id)
        return bool(slot and slot.log_queries)

    def reload_changed(self) -> list[str]:
        """Open any dataset whose path now points at a new version; return their ids.

        A version that fails to open is logged and the old one kept serving.
        """
        changed = []
        for slot in self._slots.values():
            target = Path(os.path.realpath(slot.path))
            if target == slot.current.version_path:
                continue
            try:
                index = DatasetIndex(slot.path)
            except IndexStoreError as exc:
                log.error(
                    "dataset %s: new index not loaded, still serving the old one: %s",
                    slot.id,
                    exc.message,
                )
                continue
            if index.id != slot.id:
                log.error("dataset %s: new index holds dataset %s; not loaded", slot.id, index.id)
                index.close()
                continue
            old, slot.current = slot.current, index
            self._retired.append((time.monotonic() + RETIRE_AFTER_S, old))
            changed.append(slot.id)
            self.generation += 1
            log.info("dataset %s: now serving %s", slot.id, index.version_path.name)
        self._close_retired()
        return changed

    def _close_retired(self, *, force: bool = False) -> None:
        now = time.monotonic()
        keep = []
        for deadline, index in self._retired:
            if force or deadline <= now:
                index.close()
            else:
                keep.append((deadline, index))
        self._retired = keep

    def close(self) -> None:
        """Close every environment."""
        for slot in self._slots.values():
            slot.current.close()
        self._close_retired(force=True)


def merge_scans(
    scans: Sequence[tuple[str, Iterator[tuple[bytes, bytes]]]],
) -> Iterator[tuple[bytes, str, bytes]]:
    """Merge per-dataset scans into ``(key, dataset_id, value)`` in (key, dataset) order."""
    return heapq.merge(*(_labelled(dataset_id, scan) for dataset_id, scan in scans))


def _labelled(
    dataset_id: str, scan: Iterator[tuple[bytes, bytes]]
) -> Iterator[tuple[bytes, str, bytes]]:
    # A function, not a generator expression: binds dataset_id now, not at iteration.
    for key, value in scan:
        yield key, dataset_id, value
