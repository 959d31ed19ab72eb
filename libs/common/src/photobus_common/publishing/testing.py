"""Helpers for testing destinations without Postgres: an in-memory album book."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class MemoryAlbumBook:
    """`AlbumBook` in a dict; records how many albums it had created."""

    def __init__(self) -> None:
        self.albums: dict[str, str] = {}
        self.created = 0
        self._lock = asyncio.Lock()

    async def ensure(self, name: str, create: Callable[[], Awaitable[str]]) -> tuple[str, bool]:
        async with self._lock:
            if name in self.albums:
                return self.albums[name], False
            self.albums[name] = await create()
            self.created += 1
            return self.albums[name], True
