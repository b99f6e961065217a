"""The LMDB writer of a build directory: items in almost-sorted order, appended in batches.

Part of the index format (:mod:`nodes.index.index_dir` lays out the directories it
writes into; :mod:`nodes.index.variant_ids` is the rsID table it fills beside the data).
"""

from __future__ import annotations

import bisect
import os
import shutil
from collections.abc import Callable, Sequence
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import Any

import lmdb

from mesh.errors import IndexBuildError
from nodes.index.index_dir import DATA_FILE, DIR_MODE, FILE_MODE
from nodes.index.variant_ids import IdWriter


class SortedWriter:
    """Writes key/value pairs into the LMDB environment of a build directory.

    Items arrive almost sorted (VCFs are position-sorted, but alleles at one
    position, left-aligned indels and several files are not). They wait in a dict
    (which also catches duplicates with both origins) until the input has moved
    past them (``floor``: the lowest key later input can still produce), then go to
    LMDB as a sorted batch with ``append=True``: pages are filled completely and
    nothing is searched. Keys below the last written one (unsorted input) fall back
    to ordinary puts, and the environment is compacted at the end. The rsIDs of each
    kept item's record (``origin[3]``, its ``ID`` column) go to the rsID table
    (:mod:`nodes.index.variant_ids`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        batch_size: int,
        on_duplicate: Callable[[bytes, bytes, Any, Any | None], None],
    ) -> None:
        self.directory = directory
        self._batch = batch_size
        self._on_duplicate = on_duplicate
        self._env = lmdb.open(
            str(directory),
            map_size=1 << 30,
            subdir=True,
            sync=False,
            readahead=False,
            mode=FILE_MODE,  # masked by the umask: set exactly below and at publish()
        )
        os.chmod(directory / DATA_FILE, FILE_MODE)
        self.ids = IdWriter(directory)
        self._id_columns = self.ids.columns
        #: Distinct rsIDs in the table (set by :meth:`finish`).
        self.id_count = 0
        self._buffer: dict[bytes, tuple[bytes, Any]] = {}
        self._floor = b""
        self._last: bytes | None = None
        self._unsorted = False

    def add(self, key: bytes, value: bytes, origin: Any, floor: bytes) -> None:
        """Queue one item; ``floor`` is the lowest key later items can have.

        ``origin`` (where the item came from) is handed to ``on_duplicate``; its
        ``ID`` column (``origin[3]``) to the rsID table.
        """
        buffer = self._buffer
        earlier = buffer.get(key)
        if earlier is not None:
            self._on_duplicate(key, value, origin, earlier[1])
            return
        buffer[key] = (value, origin)
        if origin[3] != b".":
            self._id_columns.append((origin[3], key))
        self._floor = floor
        if len(buffer) >= self._batch:
            self._flush()
            if len(self._id_columns) >= self.ids.batch_size:
                self.ids.flush()
                self._id_columns = self.ids.columns

    def add_many(
        self,
        keys: Sequence[bytes],
        values: Sequence[bytes],
        origins: Sequence[Any],
        floor_at: Callable[[int], bytes],
    ) -> None:
        """:meth:`add` of every item in order, in a few calls per batch.

        The same flushes, floors, rsIDs and duplicates as one :meth:`add` per item:
        items go in runs that end where :meth:`add` would flush, and a run holding a
        duplicate (of the buffer or within itself) is added item by item.
        ``floor_at(i)`` is item ``i``'s floor.
        """
        buffer = self._buffer
        n = len(keys)
        i = 0
        while i < n:
            j = min(n, i + self._batch - len(buffer))
            run = keys[i:j]
            if buffer.keys().isdisjoint(run) and len(set(run)) == j - i:
                run_origins = origins[i:j]
                buffer.update(zip(run, zip(values[i:j], run_origins, strict=True), strict=True))
                ids = list(map(itemgetter(3), run_origins))
                self._id_columns.extend(compress(zip(ids, run, strict=True), map(b".".__ne__, ids)))
                self._floor = floor_at(j - 1)
                if len(buffer) >= self._batch:
                    self._flush()
                    if len(self._id_columns) >= self.ids.batch_size:
                        self.ids.flush()
                        self._id_columns = self.ids.columns
            else:
                for k in range(i, j):
                    self.add(keys[k], values[k], origins[k], floor_at(k))
            i = j

    def _flush(self, force: bool = False) -> None:
        keys = sorted(self._buffer)
        cut = len(keys) if force else bisect.bisect_left(keys, self._floor)
        if len(keys) - cut > self._batch // 2:
            cut = len(keys)  # input went backwards (next file, unsorted): write it all
        if cut == 0:
            return
        batch = keys[:cut]
        self._write(batch)
        for key in batch:
            del self._buffer[key]

    def _disk_error(self, exc: Exception) -> IndexBuildError:
        return IndexBuildError(
            f"cannot write the index under {self.directory}: {exc} (is the disk full?)",
            reason="INDEX_WRITE_FAILED",
            metadata={"directory": str(self.directory)},
        )

    def _write(self, batch: list[bytes]) -> None:
        try:
            self._write_batch(batch)
        except (lmdb.Error, OSError) as exc:
            raise self._disk_error(exc) from exc

    def _write_batch(self, batch: list[bytes]) -> None:
        buffer = self._buffer
        while True:
            try:
                with self._env.begin(write=True) as txn:
                    late = 0 if self._last is None else bisect.bisect_right(batch, self._last)
                    for key in batch[:late]:
                        value, origin = buffer[key]
                        if not txn.put(key, value, overwrite=False):
                            self._on_duplicate(key, value, origin, None)
                    rest = [(key, buffer[key][0]) for key in batch[late:]]
                    if rest:
                        _, added = txn.cursor().putmulti(rest, append=True)
                        if added != len(rest):
                            raise IndexBuildError("internal: LMDB append out of order")
                break
            except lmdb.MapFullError:
                self._env.set_mapsize(self._env.info()["map_size"] * 2)
        if late:
            self._unsorted = True
        if rest:
            self._last = rest[-1][0]

    def finish(self) -> int:
        """Write what is left, compact if needed, close; return the number of keys."""
        try:
            return self._finish()
        except (lmdb.Error, OSError) as exc:
            raise self._disk_error(exc) from exc

    def _finish(self) -> int:
        self._flush(force=True)
        self.id_count = self.ids.finish()
        count: int = self._env.stat()["entries"]
        self._env.sync(True)
        if self._unsorted:
            compact = self.directory / "compact"
            compact.mkdir(mode=DIR_MODE)
            self._env.copy(str(compact), compact=True)
            self._env.close()
            os.replace(compact / DATA_FILE, self.directory / DATA_FILE)
            shutil.rmtree(compact)
        else:
            self._env.close()
        (self.directory / "lock.mdb").unlink(missing_ok=True)
        return count

    def abort(self) -> None:
        """Close without finishing (the directory is about to be deleted)."""
        self.ids.abort()
        self._env.close()
