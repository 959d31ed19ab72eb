"""Bytes into a file and a SHA-256 together, off the event loop, a 1 MiB batch at a time.

Measured on the 1 GB upload benchmark (bench/ingest.py), which is why it looks so:
- A thread of its own hashes and writes the batches, in order, while the loop receives
  the next ones: on two cores the two overlap. Hashing on the loop cost more CPU, and
  batches spread over a shared pool's threads went slower (~420 MB/s against ~520).
- Batches of 1 MiB: handing over each ~256 KiB piece as it came cost ~0.6 CPU-s/GB
  more (each hand-over wakes the thread, then the loop); 4 MiB batches no longer fit
  the cache the hashing reads them back from. The same holds for 3.4 MB uploads
  (`bench.ingest --small 600`, CPU-ms per upload, alternating runs): 4 MiB batches
  11.1-11.6 against 7.5-8.4 for 1 MiB, 512 KiB 8.7-9.1 against 8.2-8.5.
- Up to two batches wait or run while a third fills, so a slow write does not stall
  receiving at once. Memory: three buffers per file being written.
- Pieces are copied into reused buffers, not kept: holding on to the received pieces
  until the thread is done made glibc unmap or trim that memory and the kernel map
  and zero it again, batch after batch (~0.5 CPU-s/GB of page faults).
- With `write_behind`, each batch's write-out to disk is started once it is written
  (`photobus_common.blobs.durable`): a file the store keeps is synced at the end, and
  that sync then waits for the last batches only.
- The threads outlive their writers: a spare one is taken for the next file. Starting
  and stopping a thread per file cost ~0.2 CPU-ms more than a kept one (ThreadPoolExecutor
  created, used once and shut down, against one kept: 243 and 35 CPU-µs here).
- The thread creates the file too, as its first task: created on the event loop (by
  `mkstemp`), it held the loop 0.12-0.15 ms per upload at the median and up to 3.5 ms
  (the spool directory's lock is shared with the renames and syncs out of it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from photobus_common.blobs.durable import start_writeback

BATCH = 1024 * 1024
IN_FLIGHT = 2
# Buffers outlive their writer: a fresh 1 MiB buffer costs page faults and zeroing
# every time (a 3 MB upload spent ~1 CPU-ms more with fresh ones). Used on the loop only.
MAX_SPARE_BUFFERS = 8
_spare_buffers: list[bytearray] = []
# A lane is a thread that runs one writer's batches in order; kept for the next writer.
MAX_SPARE_LANES = 8
_spare_lanes: list[ThreadPoolExecutor] = []


def _buffer() -> bytearray:
    return _spare_buffers.pop() if _spare_buffers else bytearray(BATCH)


def _lane() -> ThreadPoolExecutor:
    if _spare_lanes:
        return _spare_lanes.pop()
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="hashfile")


def _release(lane: ThreadPoolExecutor) -> None:
    """The writer is done with `lane`; what it queued last (closing its file) runs first."""
    if len(_spare_lanes) < MAX_SPARE_LANES:
        _spare_lanes.append(lane)
    else:
        lane.shutdown(wait=False)


# A new file, for this writer only (O_EXCL), readable by its owner only, as mkstemp's.
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
CREATE_MODE = 0o600


class HashingWriter:
    """Creates a file, appends to it and hashes what it appends, in batches.

    `write` returns once the piece is copied (it may first wait for an earlier batch);
    the file's errors (OSError), its creation's included, surface at a later `write` or
    at `finish`. Either `finish` or `abandon` must end it: they close the file and give
    the thread back.
    """

    def __init__(self, path: Path, *, write_behind: bool = False) -> None:
        self._fd = -1  # the thread's, once it has created the file
        self._write_behind = write_behind
        self._absorbed = 0  # bytes the thread has written (the thread's own count)
        self._hash = hashlib.sha256()
        self._thread = _lane()
        self._filling = _buffer()
        self._filled = 0
        self._free: list[bytearray] = []
        self._in_flight: deque[tuple[Future[bytearray], int]] = deque()
        self._ended = False
        self.written = 0  # bytes known to be in the file (batches settled so far)
        self._created = self._thread.submit(self._create, path)

    async def write(self, piece: bytes | bytearray | memoryview) -> None:
        size = len(piece)
        room = BATCH - self._filled
        if size < room:  # the common case: the whole piece fits
            self._filling[self._filled : self._filled + size] = piece
            self._filled += size
            return
        view = memoryview(piece)
        self._filling[self._filled :] = view[:room]
        self._filled = BATCH
        await self._hand_over()
        for start in range(room, size, BATCH):
            part = view[start : start + BATCH]
            self._filling[: len(part)] = part
            self._filled = len(part)
            if self._filled == BATCH:
                await self._hand_over()

    async def finish(self) -> str:
        """Write what is left and close the file; the hex SHA-256 of everything written."""
        try:
            if self._filled:
                await self._hand_over()
            while self._in_flight:
                await self._settle_oldest()
            if not self._created.done():  # nothing was written: the file must exist still
                await asyncio.wrap_future(self._created)
            self._created.result()
        finally:
            self.abandon()
        return self._hash.hexdigest()

    async def created(self) -> None:
        """Wait until the file exists, or never will (its creation failed or was
        cancelled by `abandon`): only then can removing it be sure to remove it."""
        if not self._created.done():
            with contextlib.suppress(OSError):
                await asyncio.wrap_future(self._created)

    def abandon(self) -> None:
        """Close the file, once the batch being written is done, and give the thread back."""
        if self._ended:
            return
        # Not those in flight: the thread may still be reading them.
        spare = [self._filling, *self._free][: MAX_SPARE_BUFFERS - len(_spare_buffers)]
        _spare_buffers.extend(spare)
        self._filling, self._free, self._filled = bytearray(), [], 0
        self._ended = True
        # Batches not started yet are cancelled; one may be running still.
        running = [b for b, _ in self._in_flight if not b.cancel() and not b.done()]
        self._in_flight.clear()
        if self._created.cancel():
            pass  # the file was never created
        elif running or not self._created.done():  # the thread is at it: close it after
            self._thread.submit(self._close)
        else:
            self._close()
        _release(self._thread)

    async def _hand_over(self) -> None:
        """Queue the filled buffer for the thread; wait if too many are queued already."""
        while self._in_flight and self._in_flight[0][0].done():
            await self._settle_oldest()
        if len(self._in_flight) >= IN_FLIGHT:
            await self._settle_oldest()
        batch = self._thread.submit(self._absorb, self._filling, self._filled)
        self._in_flight.append((batch, self._filled))
        self._filling = self._free.pop() if self._free else _buffer()
        self._filled = 0

    async def _settle_oldest(self) -> None:
        """Wait for the oldest batch (its error is raised here); its buffer is free again."""
        oldest, size = self._in_flight[0]
        if not oldest.done():  # only then is the loop woken when it is
            await asyncio.wrap_future(oldest)
        self._in_flight.popleft()
        self._free.append(oldest.result())
        self.written += size

    def _create(self, path: Path) -> None:
        self._fd = os.open(path, CREATE_FLAGS, CREATE_MODE)

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _absorb(self, batch: bytearray, filled: int) -> bytearray:
        if self._fd < 0:  # the file could not be created: that error, here too
            self._created.result()
        view = memoryview(batch)[:filled]
        self._hash.update(view)
        while view:
            view = view[os.write(self._fd, view) :]
        if self._write_behind:
            start_writeback(self._fd, self._absorbed, filled)
        self._absorbed += filled
        return batch
