"""Blobs as files under one directory: the default, so one machine needs no S3.

Originals (`put_file`) are on disk before `put_file` returns — data, then the name —
so an accepted photo survives a power cut (`durable`). Renditions (`put_bytes`) are
not synced: they are made again from the original (`thumbnail.requested`).
"""

from __future__ import annotations

import asyncio
import errno
import functools
import mimetypes
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from photobus_common.blobs.base import (
    CHUNK,
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    Incoming,
    PutAtCommit,
)
from photobus_common.blobs.durable import sync_directory, sync_file


class LocalBlobStore(BlobStore):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        """The file of `key`, which must name a path inside the store.

        Checked on the key's text, not by resolving the path: that costs a system call
        per directory level, on the event loop for most callers. Links inside the store
        are the operator's to make.
        """
        normal = os.path.normpath(key)
        if os.path.isabs(normal) or normal in (".", "..") or normal.startswith("../"):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return self.root / normal

    def local_file(self, key: str) -> Path:
        return self.path(key)

    async def start(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    async def close(self) -> None:
        return None

    async def check(self) -> None:
        if not os.access(self.root, os.W_OK):
            raise BlobStoreUnavailable(f"blob directory {self.root} is not writable")

    def _make_directories(self, target: Path, *, durable: bool) -> None:
        """Create the directories `target` goes in; with `durable`, their names are on
        disk too (each new one's parent synced), as the file's will be."""
        missing, directory = [], target.parent
        while directory != self.root and not directory.exists():
            missing.append(directory)
            directory = directory.parent
        target.parent.mkdir(parents=True, exist_ok=True)
        if durable:
            for directory in missing:
                sync_directory(directory.parent)

    def _install(self, key: str, write: Callable[[Path], None], *, durable: bool = False) -> None:
        target = self.path(key)
        self._make_directories(target, durable=durable)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        os.close(fd)
        try:
            write(Path(tmp))
            if durable:
                sync_file(Path(tmp))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        if durable:
            sync_directory(target.parent)

    def spool_dir(self) -> Path:
        return self.root / ".spool"

    def incoming(self, path: Path) -> Incoming:
        return _KeptFile(self, path)

    async def put_file(
        self, key: str, path: Path, *, content_type: str, consume: bool = False
    ) -> None:
        try:
            if not (consume and await asyncio.to_thread(self._move, key, path)):
                copy = functools.partial(_copy, path)
                await asyncio.to_thread(self._install, key, copy, durable=True)
        except OSError as e:
            raise BlobStoreUnavailable(f"could not write {key}: {e}") from e

    def _move(self, key: str, path: Path) -> bool:
        """Rename a finished file onto its key; False if it is on another filesystem.

        Straight onto the key, not onto a temporary first: renaming over an existing
        file (as the temporary is) makes ext4 allocate and start writing back the whole
        file at once (auto_da_alloc): ~0.4 s per GB here, and the broker's next fsync
        then waits behind that writeback. The key normally does not exist yet; when a
        duplicate raced in, it holds the same bytes.
        """
        target = self.path(key)
        self._make_directories(target, durable=True)
        sync_file(path)
        try:
            os.rename(path, target)
        except OSError as e:
            if e.errno == errno.EXDEV:
                return False
            raise
        sync_directory(target.parent)
        return True

    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._install, key, lambda tmp: _write(tmp, data))
        except OSError as e:
            raise BlobStoreUnavailable(f"could not write {key}: {e}") from e

    async def get_bytes(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(key).read_bytes)
        except FileNotFoundError as e:
            raise BlobNotFound(key) from e

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(open, self.path(key), "rb")
        except FileNotFoundError as e:
            raise BlobNotFound(key) from e
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def stat(self, key: str) -> BlobInfo | None:
        try:
            st = await asyncio.to_thread(os.stat, self.path(key))
        except FileNotFoundError:
            return None
        return BlobInfo(size=st.st_size, content_type=mimetypes.guess_type(key)[0])

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)


class _KeptFile(PutAtCommit):
    """The spooled file is renamed onto its key at the end: written behind as it grows."""

    keeps_file = True


def _copy(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
