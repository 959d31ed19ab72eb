"""HashingWriter: the file and the hash hold exactly what was written, in order."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from pathlib import Path

import pytest
from photobus_ingest import hashfile
from photobus_ingest.hashfile import BATCH, IN_FLIGHT, HashingWriter

DATA = os.urandom(5 * BATCH + 12_345)


def _open(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    "piece", [1, 1000, 256 * 1024, BATCH - 1, BATCH, BATCH + 1, 3 * BATCH + 7, len(DATA)]
)
async def test_file_and_hash_hold_every_byte_in_order(tmp_path: Path, piece: int) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(_open(path))
    view = memoryview(DATA)
    for start in range(0, len(DATA), piece):
        await writer.write(view[start : start + piece])
    assert await writer.finish() == hashlib.sha256(DATA).hexdigest()
    assert path.read_bytes() == DATA


async def test_nothing_written_is_the_empty_hash(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(_open(path))
    assert await writer.finish() == hashlib.sha256(b"").hexdigest()
    assert path.read_bytes() == b""


async def test_pieces_are_copied_so_the_caller_may_reuse_its_buffer(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(_open(path))
    buffer = bytearray(BATCH // 3)
    for n in range(10):
        buffer[:] = bytes([n]) * len(buffer)
        await writer.write(buffer)
    expected = b"".join(bytes([n]) * len(buffer) for n in range(10))
    assert await writer.finish() == hashlib.sha256(expected).hexdigest()
    assert path.read_bytes() == expected


async def test_a_failing_file_raises_oserror(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    path.touch()
    fd = os.open(path, os.O_RDONLY)  # writes fail with EBADF, as a full disk would fail
    writer = HashingWriter(fd)

    async def write_all() -> None:
        for _ in range(IN_FLIGHT + 2):
            await writer.write(bytes(BATCH))
        await writer.finish()

    with pytest.raises(OSError, match="Bad file descriptor"):
        await write_all()
    writer.abandon()
    async with asyncio.timeout(10):
        while _is_open(fd):
            await asyncio.sleep(0.01)


async def test_abandoning_closes_the_file_once_the_thread_is_done(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    fd = _open(path)
    writer = HashingWriter(fd)
    for _ in range(IN_FLIGHT + 1):
        await writer.write(bytes(BATCH))
    writer.abandon()
    writer.abandon()  # twice is harmless
    async with asyncio.timeout(10):
        while _is_open(fd):  # closed by the thread, after the batch it was writing
            await asyncio.sleep(0.01)


async def test_the_next_writer_takes_over_the_thread_of_one_abandoned_mid_write(
    tmp_path: Path,
) -> None:
    def hashing_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("hashfile")}

    first_fd = _open(tmp_path / "first")
    first = HashingWriter(first_fd)
    for _ in range(IN_FLIGHT + 1):
        await first.write(bytes(BATCH))
    threads = hashing_threads()
    first.abandon()  # its thread may still be writing a batch
    second = HashingWriter(_open(tmp_path / "second"))
    await second.write(DATA)
    assert await second.finish() == hashlib.sha256(DATA).hexdigest()
    assert (tmp_path / "second").read_bytes() == DATA
    assert not _is_open(first_fd)  # closed before the second writer's batches ran
    # The second writer ran on the first one's thread, which is kept for the next.
    assert threads and hashing_threads() == threads


@pytest.mark.parametrize("write_behind", [True, False])
async def test_write_out_of_each_batch_is_started_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_behind: bool
) -> None:
    started: list[tuple[int, int]] = []
    monkeypatch.setattr(
        hashfile, "start_writeback", lambda fd, offset, length: started.append((offset, length))
    )
    writer = HashingWriter(_open(tmp_path / "spool"), write_behind=write_behind)
    await writer.write(DATA)
    await writer.finish()
    if not write_behind:
        assert started == []
        return
    # Every batch, in order, each right after the one before: the whole file.
    assert [offset for offset, _ in started] == list(range(0, len(DATA), BATCH))
    assert sum(length for _, length in started) == len(DATA)
