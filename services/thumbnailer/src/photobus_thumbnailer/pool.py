"""The process pool that does all decoding and encoding, off the event loop.

Each worker registers the HEIF opener once and runs under an address-space limit
(what it has mapped at start plus the configured headroom), so a decompression bomb
that slips past the pixel budget fails one photo with a MemoryError instead of
taking the machine down.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import select
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from photobus_thumbnailer.imaging import ImagingError, ImagingResult, make_renditions, register_heif

# glibc gives every buffer over its mmap threshold (128 KiB at first) fresh pages from
# the kernel and returns them on free, so each photo's decode buffers page-fault anew.
# Keeping buffers up to 64 MiB (a 24 MP photo decoded at 1/2 scale) on the heap cut a
# 12 MP photo's system time from 21 to 0.3 ms and its page faults from 6,400 to none
# (bench/thumbnailer.py). glibc reads these once at process start: they must be in the
# environment before the forkserver starts; an operator's own values win.
MALLOC_TUNING = {
    "MALLOC_MMAP_THRESHOLD_": str(64 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(128 * 1024 * 1024),
}


def _init_worker(memory_limit_mb: int, thumbnailer_pid: int) -> None:
    register_heif()
    if memory_limit_mb > 0:
        # The cap is on what decoding may take, on top of what the worker has mapped
        # once its libraries are loaded: OpenCV and numpy alone reserve about 430 MB
        # of address space, little of it resident.
        limit = _address_space() + memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _exit_with(thumbnailer_pid)


def _address_space() -> int:
    """Bytes of address space this process has mapped (0 where /proc does not tell)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _exit_with(pid: int) -> None:
    """Leave as soon as process `pid` (the thumbnailer) has gone.

    A worker's parent is the forkserver, not the thumbnailer: after a SIGKILL of the
    thumbnailer, workers stayed, blocked writing a result nobody reads, and kept their
    forkserver alive too (70 MB each; 42 such processes were found on a test machine).
    """
    try:
        watched = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+, or already gone
        if not _alive(pid):
            os._exit(1)
        return

    def wait() -> None:
        select.select([watched], [], [])  # readable once the process has exited
        os._exit(1)

    threading.Thread(target=wait, name="exit-with-thumbnailer", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _render(source: bytes | Path, max_pixels: int) -> ImagingResult:
    # A path is read here, in the worker: one copy from the page cache, where bytes
    # sent from the thumbnailer cross a pipe 64 KiB at a time, each piece a switch
    # between the two processes (and a worker left waiting when the sender is not
    # on a CPU). FileNotFoundError and other OSErrors reach the caller as they are.
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
        return make_renditions(data, max_pixels=max_pixels)
    except MemoryError as e:
        raise ImagingError(
            "too_many_pixels", "decoding needed more memory than a photo may use"
        ) from e


class RenderPool:
    def __init__(self, workers: int, *, max_pixels: int, memory_limit_mb: int) -> None:
        self.workers = workers
        self.max_pixels = max_pixels
        self.memory_limit_mb = memory_limit_mb
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        for name, value in MALLOC_TUNING.items():
            os.environ.setdefault(name, value)
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_init_worker,
            initargs=(self.memory_limit_mb, os.getpid()),
        )

    async def render(self, source: bytes | Path) -> ImagingResult:
        """Renditions of a photo given as its bytes or as the path of its file."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, _render, source, self.max_pixels)
        except BrokenProcessPool:
            # A worker died (killed, or the kernel stopped it): start a fresh pool; the
            # message is retried, and one that kills workers every time is dead-lettered.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
