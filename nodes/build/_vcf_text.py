"""The data lines of a VCF text file (plain, gzip or BGZF), in batches, as bytes.

Decompression dominates reading: for a whole file it runs in a helper thread
(``pysam.BGZFile.read`` and zlib free the GIL), so it overlaps with parsing.

A BGZF file can also be cut into byte ranges that worker processes read on their
own, without an index: a range owns the lines that *start* in its blocks. A worker
skips the line its first block begins inside (through the first newline), and reads
past its last block up to the first newline there to finish its last line. Both
rules look at the same newline, so every line has exactly one owner.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import queue
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import pysam

_CHUNK = 4 << 20
#: The fixed start of every BGZF block header (gzip, FEXTRA, XLEN 6, subfield ``BC``).
_MAGIC = b"\x1f\x8b\x08\x04"
_BSIZE = struct.Struct("<H")
_TAIL = struct.Struct("<II")


class TextReadError(OSError):
    """The compressed stream is truncated or corrupt."""


def _read_plain(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _read_gzip(path: str) -> Iterator[bytes]:
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TextReadError(str(exc)) from exc


def _read_bgzf(path: str) -> Iterator[bytes]:
    done = 0
    try:
        with pysam.BGZFile(path, "rb", None) as handle:
            while chunk := handle.read(_CHUNK):
                done += len(chunk)
                yield chunk
        return
    except OSError:
        pass  # htslib fails the whole chunk: find the bad block, keep the data before it
    with open(path, "rb") as raw:
        seen = 0
        for _, data in _blocks(raw, 0):
            if seen + len(data) > done:
                yield data[max(0, done - seen) :]
            seen += len(data)
    raise TextReadError("htslib could not read the file, but every block decodes")


def _prefetched(chunks: Iterator[bytes], depth: int = 2) -> Iterator[bytes]:
    """Run ``chunks`` in a thread, ``depth`` chunks ahead (bounded memory)."""
    pipe: queue.Queue[tuple[bytes | None, BaseException | None]] = queue.Queue(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                pipe.put((chunk, None))
            pipe.put((None, None))
        except BaseException as exc:  # handed to the reading thread
            pipe.put((None, exc))

    thread = threading.Thread(target=produce, daemon=True, name="vcf-decompress")
    thread.start()
    try:
        while True:
            chunk, error = pipe.get()
            if error is not None:
                raise error
            if chunk is None:
                return
            yield chunk
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                pipe.get(timeout=0.05)
        thread.join()


def line_batches(path: str, compression: str) -> Iterator[list[bytes]]:
    """Every line of a file (header lines too), in batches, without line ends."""
    if compression == "BGZF":
        chunks = _prefetched(_read_bgzf(path))
    elif compression == "GZIP":
        chunks = _prefetched(_read_gzip(path))
    else:
        chunks = _read_plain(path)
    return _split(chunks)


def _split(chunks: Iterator[bytes]) -> Iterator[list[bytes]]:
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = lines.pop()
        yield lines
    if rest:
        yield [rest]


# --------------------------------------------------------------------------- ranges


def _block_size(head: bytes | memoryview, at: int) -> int | None:
    """The size of the BGZF block starting at ``at`` of ``head``, or ``None`` if none does."""
    if (
        bytes(head[at : at + 4]) != _MAGIC
        or bytes(head[at + 10 : at + 16]) != b"\x06\x00BC\x02\x00"
    ):
        return None
    size: int = _BSIZE.unpack_from(head, at + 16)[0] + 1
    return size


def block_start(handle: BinaryIO, offset: int, file_size: int) -> int:
    """The first BGZF block at or after ``offset`` (``file_size`` when there is none).

    A candidate header counts only when the next block follows it exactly (or the
    file ends there): a chance match inside compressed data is not taken.
    """
    if offset <= 0:
        return 0
    handle.seek(offset)
    window = handle.read(3 << 17)  # a block is at most 64 KiB: two fit in the window
    at = window.find(_MAGIC)
    while at >= 0:
        size = _block_size(window, at)
        if size is not None:
            following = offset + at + size
            if following >= file_size:
                return offset + at
            handle.seek(following)
            if _block_size(handle.read(18), 0) is not None:
                return offset + at
        at = window.find(_MAGIC, at + 1)
    return min(file_size, offset + len(window))


def _blocks(handle: BinaryIO, start: int) -> Iterator[tuple[int, bytes]]:
    """``(compressed offset, data)`` of every BGZF block from ``start``."""
    handle.seek(start)
    offset = start
    buffer = b""
    while True:
        if len(buffer) < 18:
            buffer += handle.read(1 << 20)
            if not buffer:
                return
        size = _block_size(buffer, 0)
        if size is None:
            raise TextReadError(f"no BGZF block header at byte {offset}")
        while len(buffer) < size:
            more = handle.read(1 << 20)
            if not more:
                raise TextReadError(f"the BGZF block at byte {offset} is truncated")
            buffer += more
        block = memoryview(buffer)[:size]
        crc, length = _TAIL.unpack_from(block, size - 8)
        try:
            data = zlib.decompress(block[18 : size - 8], -15)
        except zlib.error as exc:
            raise TextReadError(f"the BGZF block at byte {offset} is corrupt: {exc}") from exc
        if len(data) != length or zlib.crc32(data) != crc:
            raise TextReadError(f"the BGZF block at byte {offset} fails its checksum")
        block.release()
        yield offset, data
        offset += size
        buffer = buffer[size:]


def range_lines(path: str, start: int, end: int) -> Iterator[list[bytes]]:
    """The lines owned by the BGZF blocks in ``[start, end)`` (block offsets), in batches."""
    with open(path, "rb") as handle:
        skip = start > 0
        rest = b""
        for offset, block in _blocks(handle, start):
            data = block
            if skip:
                if offset >= end:
                    return  # no line starts in the range
                cut = data.find(b"\n")
                if cut < 0:
                    continue
                data = data[cut + 1 :]
                skip = False
            if offset >= end:  # past the range: finish the last line only
                cut = data.find(b"\n")
                if cut >= 0:
                    if rest or cut:
                        yield [rest + data[:cut]]
                    return
                rest += data
                continue
            lines = (rest + data).split(b"\n") if rest else data.split(b"\n")
            rest = lines.pop()
            yield lines
        if rest:
            yield [rest]


def data_lines(batches: Iterator[list[bytes]]) -> Iterator[list[bytes]]:
    """Batches without the header lines that open the file."""
    for lines in batches:
        start = 0
        while start < len(lines) and lines[start][:1] == b"#":
            start += 1
        if start < len(lines):
            yield lines[start:] if start else lines
            break
    yield from batches


def limited(batches: Iterator[list[bytes]], limit: int) -> Iterator[list[bytes]]:
    """The first ``limit`` data lines, in the same batches."""
    for lines in batches:
        if len(lines) >= limit:
            yield lines[:limit]
            return
        limit -= len(lines)
        yield lines


@contextlib.contextmanager
def one_record_file(text: bytes) -> Iterator[str]:
    """A path holding ``text``: in memory where Linux allows, else a temporary file.

    In memory, ``index preview`` writes nothing to disk.
    """
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("allelemesh-record", os.MFD_CLOEXEC)
        try:
            os.write(fd, text)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="allelemesh-record-") as tmp:
        path = os.path.join(tmp, "record.vcf")
        with open(path, "wb") as out:
            out.write(text)
        yield path
