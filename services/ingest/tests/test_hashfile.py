"""HashingWriter: the file and the hash hold exactly what was written, in order."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest
from photobus_ingest import hashfile
from photobus_ingest.hashfile import BATCH, IN_FLIGHT, HashingWriter

DATA = os.urandom(5 * BATCH + 12_345)


def _descriptors_of(path: Path) -> list[int]:
    """This process's open file descriptors on `path`."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            if os.readlink(f"/proc/self/fd/{name}") == str(path):
                found.append(int(name))
    return found


async def _until_closed(path: Path) -> None:
    async with asyncio.timeout(10):
        while _descriptors_of(path):
            await asyncio.sleep(0.01)


async def _write_and_finish(writer: HashingWriter, data: bytes) -> str:
    await writer.write(data)
    return await writer.finish()


class _FullDisk:
    """`os` for hashfile, but every write fails as on a full disk."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    "piece", [1, 1000, 256 * 1024, BATCH - 1, BATCH, BATCH + 1, 3 * BATCH + 7, len(DATA)]
)
async def test_file_and_hash_hold_every_byte_in_order(tmp_path: Path, piece: int) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(path)
    view = memoryview(DATA)
    for start in range(0, len(DATA), piece):
        await writer.write(view[start : start + piece])
    assert await writer.finish() == hashlib.sha256(DATA).hexdigest()
    assert path.read_bytes() == DATA


async def test_nothing_written_is_the_empty_hash(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(path)
    assert await writer.finish() == hashlib.sha256(b"").hexdigest()
    assert path.read_bytes() == b""


async def test_pieces_are_copied_so_the_caller_may_reuse_its_buffer(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(path)
    buffer = bytearray(BATCH // 3)
    for n in range(10):
        buffer[:] = bytes([n]) * len(buffer)
        await writer.write(buffer)
    expected = b"".join(bytes([n]) * len(buffer) for n in range(10))
    assert await writer.finish() == hashlib.sha256(expected).hexdigest()
    assert path.read_bytes() == expected


async def test_a_failing_file_raises_oserror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashfile, "os", _FullDisk())
    path = tmp_path / "spool"
    writer = HashingWriter(path)

    async def write_all() -> None:
        for _ in range(IN_FLIGHT + 2):
            await writer.write(bytes(BATCH))
        await writer.finish()

    with pytest.raises(OSError, match="No space left on device"):
        await write_all()
    writer.abandon()
    await _until_closed(path)


async def test_the_file_is_created_by_the_writers_thread_not_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    creators: list[threading.Thread] = []

    class RecordingOs:
        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

        @staticmethod
        def open(path: Path, flags: int, mode: int) -> int:
            creators.append(threading.current_thread())
            return os.open(path, flags, mode)

    monkeypatch.setattr(hashfile, "os", RecordingOs())
    path = tmp_path / "spool"
    writer = HashingWriter(path)
    await writer.created()
    assert [t.name.startswith("hashfile") for t in creators] == [True]
    assert creators[0] is not threading.current_thread()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the owner's only, as mkstemp's
    await writer.write(DATA)
    assert await writer.finish() == hashlib.sha256(DATA).hexdigest()
    assert path.read_bytes() == DATA


@pytest.mark.parametrize("written", [b"", DATA])
async def test_a_file_that_cannot_be_created_raises_oserror(tmp_path: Path, written: bytes) -> None:
    path = tmp_path / "no-such-directory" / "spool"
    writer = HashingWriter(path)
    with pytest.raises(FileNotFoundError):
        await _write_and_finish(writer, written)
    writer.abandon()


async def test_an_existing_file_is_never_written_over(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    path.write_bytes(b"someone else's")
    writer = HashingWriter(path)
    with pytest.raises(FileExistsError):
        await _write_and_finish(writer, DATA)
    writer.abandon()
    assert path.read_bytes() == b"someone else's"


async def test_abandoning_closes_the_file_once_the_thread_is_done(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    writer = HashingWriter(path)
    for _ in range(IN_FLIGHT + 1):
        await writer.write(bytes(BATCH))
    writer.abandon()
    writer.abandon()  # twice is harmless
    await _until_closed(path)  # closed by the thread, after the batch it was writing


async def test_abandoning_before_the_file_is_created_leaves_none_open(tmp_path: Path) -> None:
    paths = [tmp_path / f"spool-{n}" for n in range(50)]
    for path in paths:
        writer = HashingWriter(path)
        writer.abandon()  # its creation is cancelled, or the file closed after it
        await writer.created()
    for path in paths:
        await _until_closed(path)


async def test_the_next_writer_takes_over_the_thread_of_one_abandoned_mid_write(
    tmp_path: Path,
) -> None:
    def hashing_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("hashfile")}

    first = HashingWriter(tmp_path / "first")
    for _ in range(IN_FLIGHT + 1):
        await first.write(bytes(BATCH))
    threads = hashing_threads()
    first.abandon()  # its thread may still be writing a batch
    second = HashingWriter(tmp_path / "second")
    await second.write(DATA)
    assert await second.finish() == hashlib.sha256(DATA).hexdigest()
    assert (tmp_path / "second").read_bytes() == DATA
    assert _descriptors_of(tmp_path / "first") == []  # closed before the second's batches
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
    writer = HashingWriter(tmp_path / "spool", write_behind=write_behind)
    await writer.write(DATA)
    await writer.finish()
    if not write_behind:
        assert started == []
        return
    # Every batch, in order, each right after the one before: the whole file.
    assert [offset for offset, _ in started] == list(range(0, len(DATA), BATCH))
    assert sum(length for _, length in started) == len(DATA)
