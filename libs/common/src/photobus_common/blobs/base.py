"""The small interface both blob backends implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 256 * 1024


class BlobNotFound(KeyError):
    pass


class BlobStoreUnavailable(Exception):
    """The store cannot be reached or refused a write; callers answer 503 or retry."""


@dataclass(frozen=True)
class BlobInfo:
    size: int
    content_type: str | None


class Incoming(ABC):
    """A file on its way into the store while it is still being written, its key unknown.

    Originals are keyed by their hash, known only once the last byte is in. The writer
    reports how far the local file has grown; a store may upload it meanwhile.
    """

    # The store keeps this very file (renames it onto its key): its writer should start
    # writing it to disk as it goes (`durable.start_writeback`).
    keeps_file = False

    def grown(self, size: int) -> None:  # noqa: B027 (most stores wait for the end)
        """The local file now holds its first `size` bytes, final from now on."""

    @abstractmethod
    async def commit(self, key: str, *, content_type: str) -> None:
        """Store the whole file under `key` (raises BlobStoreUnavailable); it is taken over."""

    async def abort(self) -> None:  # noqa: B027 (most stores have nothing to undo)
        """Drop whatever went up already; the local file stays the writer's."""


class BlobStore(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def check(self) -> None:
        """Raise BlobStoreUnavailable unless the store answers."""

    def spool_dir(self) -> Path | None:
        """Where writers should stage files so `put_file(consume=True)` can rename them."""
        return None

    def local_file(self, key: str) -> Path | None:
        """The file holding `key` on this machine, for a reader in another process to
        open itself (no bytes through a pipe); None when blobs are not local files."""
        return None

    @abstractmethod
    async def put_file(
        self, key: str, path: Path, *, content_type: str, consume: bool = False
    ) -> None:
        """Store a local file under `key`, atomically (readers never see half a blob).

        With `consume=True` the store may take the file over (move it) instead of copying.
        """

    def incoming(self, path: Path) -> Incoming:
        """Stream the file being written at `path` into the store (`put_file` at the end
        unless a store does better)."""
        return PutAtCommit(self, path)

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None: ...

    @abstractmethod
    async def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def stream(self, key: str) -> AsyncIterator[bytes]:
        """Yield the blob in chunks; raises BlobNotFound before the first chunk."""

    @abstractmethod
    async def stat(self, key: str) -> BlobInfo | None: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool:
        return await self.stat(key) is not None


class PutAtCommit(Incoming):
    """`put_file` of the whole file at commit."""

    def __init__(self, store: BlobStore, path: Path) -> None:
        self._store = store
        self._path = path

    async def commit(self, key: str, *, content_type: str) -> None:
        await self._store.put_file(key, self._path, content_type=content_type, consume=True)
