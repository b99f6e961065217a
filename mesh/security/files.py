"""Files the security tools write (keys, certificates, deny lists): whole or not at all.

A reader (a serving process reloading its deny list, an operator's ``openssl``) must
never see half a file, and a key must never be readable by others, not even briefly.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` in one step (a synced temporary file, renamed).

    The temporary file is created with ``O_EXCL`` (never following or reusing a file
    someone else created) and ``mode`` from creation; it is removed on any failure.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
