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

    @abstractmethod
    async def put_file(
        self, key: str, path: Path, *, content_type: str, consume: bool = False
    ) -> None:
        """Store a local file under `key`, atomically (readers never see half a blob).

        With `consume=True` the store may take the file over (move it) instead of copying.
        """

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
