"""A file object that reports the bytes read from it, so uploads can show progress.

aiohttp streams a `BufferedReader` from disk in its thread pool, chunk by chunk;
this one also tells the event loop how many bytes each read took.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path


class ProgressReader(io.BufferedReader):
    def __init__(
        self, raw: io.RawIOBase, loop: asyncio.AbstractEventLoop, report: Callable[[int], None]
    ) -> None:
        super().__init__(raw)
        self._loop = loop
        self._report = report

    @classmethod
    def open(
        cls, path: Path, loop: asyncio.AbstractEventLoop, report: Callable[[int], None]
    ) -> ProgressReader:
        return cls(io.FileIO(path, "rb"), loop, report)

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if data:
            # aiohttp reads in a worker thread; the report belongs on the event loop.
            self._loop.call_soon_threadsafe(self._report, len(data))
        return data
