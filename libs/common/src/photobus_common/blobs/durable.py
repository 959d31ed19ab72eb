"""Getting a file's bytes onto the disk: written behind as they arrive, synced at the end.

An accepted original must survive a power cut, as the broker's confirmed messages do,
so the local store syncs a file before it takes it over. Syncing only at the end would
leave a large file's whole body dirty in the page cache until then, and the kernel's
own writeback of everything ingest wrote in the last half minute comes in bursts: on
ext4 (data=ordered) every fsync waits for it, RabbitMQ's and PostgreSQL's included.
Seen in bench/pipeline.py: ~500 MB of expired uploads written back at once stopped
every service for half a second. So a writer starts the write-out of each piece as soon
as it is written (`sync_file_range`, as PostgreSQL does with its *_flush_after
settings), and the sync at the end only waits for the last pieces.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

SYNC_FILE_RANGE_WRITE = 2  # start write-out of the range's dirty pages; do not wait


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    function = getattr(libc, "sync_file_range", None)
    if function is None:
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


_SYNC_FILE_RANGE = _sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing `length` bytes at `offset` to disk, without waiting.

    Advisory: where the call does not exist or fails, the final sync does it all.
    """
    if _SYNC_FILE_RANGE is not None and length > 0:
        _SYNC_FILE_RANGE(fd, offset, length, SYNC_FILE_RANGE_WRITE)


def sync_file(path: Path) -> None:
    """The file's data is on disk when this returns (blocking: call it off the loop)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def sync_directory(path: Path) -> None:
    """A rename or a new file in `path` is on disk when this returns."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
