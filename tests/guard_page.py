"""Bytes that end exactly where an unreadable page starts: a read past their end crashes.

For compiled readers (``allelemesh_codec``): a test hands them such a view to prove they
never read past the buffer they were given.
"""

from __future__ import annotations

import ctypes
import mmap

import pytest

_guards: list[mmap.mmap] = []  # kept mapped for the session: views point into them


def guarded(data: bytes) -> memoryview:
    """``data`` ending exactly where a PROT_NONE page starts (skips where mprotect is absent)."""
    page = mmap.PAGESIZE
    size = (len(data) // page + 2) * page
    region = mmap.mmap(-1, size)
    address = ctypes.addressof(ctypes.c_char.from_buffer(region))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    end = size - page
    if libc.mprotect(address + end, page, 0) != 0:  # PROT_NONE
        pytest.skip("mprotect is not available here")
    region[end - len(data) : end] = data
    _guards.append(region)
    return memoryview(region)[end - len(data) : end]
