"""The rsID table of an index: ``ids.mdb``, rsID -> the keys of the variants it names.

A second LMDB environment beside ``data.mdb`` (one file, ``subdir=False``), with
duplicate keys: ``rs11591147`` -> each variant key (:mod:`nodes.index.keys`) a record with that
id produced, so one id names several variants and one record several ids. Kept apart
from the position index rather than as a named sub-database of it: LMDB stores the
names of sub-databases as keys of the main database, whose keys are variant keys that
scans and counts read; and the count values (:mod:`nodes.index.records`) stay as they are.

``dataset.json`` says ``variant_ids: true`` for indexes built with the table; an index
built before cannot answer an rsID (its node says "rebuild", not "not found").
"""

from __future__ import annotations

from pathlib import Path

import lmdb

from mesh.model.variant_ids import id_pairs

#: The table's file in a version directory.
IDS_FILE = "ids.mdb"
#: The (only) database of that environment, with sorted duplicates (py-lmdb allows no
#: flags on an environment's main database).
_DB_NAME = b"rsids"


class IdWriter:
    """Collects ``(ID column, key)`` pairs of a build and writes their rsIDs sorted."""

    def __init__(self, directory: Path, *, batch_size: int = 200_000) -> None:
        self.path = directory / IDS_FILE
        self._env = lmdb.open(str(self.path), map_size=1 << 28, subdir=False, sync=False, max_dbs=1)
        self._db = self._env.open_db(_DB_NAME, dupsort=True)
        #: ``(ID column, key)`` of every item with an ID, read at the next :meth:`flush`
        #: (the builder appends to it directly: one append per item on its hot path).
        self.columns: list[tuple[bytes, bytes]] = []
        #: How many columns the builder collects before it calls :meth:`flush`.
        self.batch_size = batch_size

    def flush(self) -> None:
        """Write the collected ids (unsorted: LMDB's inserts beat sorting them in Python)."""
        pairs = id_pairs(self.columns)  # an (id, key) pair given twice is stored once
        self.columns = []
        while True:
            try:
                with self._env.begin(write=True, db=self._db) as txn:
                    txn.cursor().putmulti(pairs, dupdata=True, overwrite=True)
                return
            except lmdb.MapFullError:
                self._env.set_mapsize(self._env.info()["map_size"] * 2)

    def finish(self) -> int:
        """Write what is left and close; return the number of distinct ids."""
        self.flush()
        with self._env.begin(db=self._db) as txn:
            cursor = txn.cursor()
            count = sum(1 for _ in cursor.iternext_nodup())
        self._env.sync(True)
        self._env.close()
        Path(f"{self.path}-lock").unlink(missing_ok=True)
        return count

    def abort(self) -> None:
        """Close without finishing."""
        self._env.close()


def open_ids_env(path: Path) -> lmdb.Environment:
    """Open an index's rsID table file read-only (one environment per file per process)."""
    return lmdb.open(str(path), readonly=True, lock=False, subdir=False, readahead=False, max_dbs=1)


class VariantIds:
    """An index's rsID table, read-only, over an environment that its opener owns."""

    def __init__(self, env: lmdb.Environment) -> None:
        self._env = env
        self._db = env.open_db(_DB_NAME, dupsort=True, create=False)

    def keys_of(self, rsid: str) -> list[bytes]:
        """The variant keys recorded under ``rsid`` (lower case), in key order."""
        with self._env.begin(db=self._db, buffers=False) as txn:
            cursor = txn.cursor()
            if not cursor.set_key(rsid.encode("ascii")):
                return []
            return list(cursor.iternext_dup())
