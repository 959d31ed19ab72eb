"""What a destination is to the runtime: upload, find an earlier upload, and two errors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from photobus_common.events import Destination as DestinationName


class PublishingError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(PublishingError):
    """Worth trying again later (429, 5xx, timeouts); `retry_after` is the server's wish."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentError(PublishingError):
    """Trying again cannot help (a refused image, invalid credentials); tried once."""


@dataclass(frozen=True)
class Published:
    remote_id: str
    url: str


@dataclass(frozen=True)
class PreparedPhoto:
    """The bytes to send (already location-free and in a format every destination takes)."""

    photo_id: str
    data: bytes
    content_type: str
    extension: str
    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    album: str | None = None

    @property
    def filename(self) -> str:
        """`<photo_id>.<ext>`: also the marker `find_existing` looks for after a crash."""
        return f"{self.photo_id}.{self.extension}"


class AlbumBook(Protocol):
    """Albums a destination created, remembered by name (shared by every replica)."""

    async def ensure(self, name: str, create: Callable[[], Awaitable[str]]) -> tuple[str, bool]:
        """The remote id of album `name`, calling `create` only if none exists yet.

        Returns (album_id, created_now). Concurrent callers wait for one another.
        """
        ...


class Destination(ABC):
    """One publishing destination. Subclasses speak its protocol and raise
    `TransientError` or `PermanentError`; everything else is the runtime's."""

    name: ClassVar[DestinationName]

    @property
    @abstractmethod
    def is_configured(self) -> bool:
        """Whether credentials are present; an unconfigured destination skips every photo."""

    @abstractmethod
    async def upload(self, photo: PreparedPhoto) -> Published: ...

    async def find_existing(self, photo_id: str) -> Published | None:
        """An upload of `photo_id` made by an attempt that died, if the destination can tell."""
        return None

    async def start(self) -> None:
        """Open sessions and clients (called once, inside the running event loop)."""
        return None

    async def close(self) -> None:
        """Release what `start` opened."""
        return None
