"""Uploading many files: hash each, skip what photobus already has, send the rest.

Each file is its own job (`POST /v1/jobs` with one file part): a failure or retry
touches one file only, and progress is per file. Up to `concurrency` files are in
flight at once. The server being unreachable (after retries) or refusing the API key
ends the whole run; anything else is one file's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from photobus_client.client import PhotobusClient
from photobus_client.errors import ApiError, AuthError, PhotobusError, ServerUnreachable
from photobus_client.hashing import photo_id_of
from photobus_client.models import UploadOptions

Outcome = Literal["uploaded", "already_there", "rejected", "failed"]


@dataclass(frozen=True)
class FileResult:
    path: Path
    size: int
    outcome: Outcome
    photo_id: str | None = None
    job_id: str | None = None
    item_id: str | None = None
    reason: str | None = None
    detail: str | None = None


class UploadWatcher(Protocol):
    """What the upload tells its display as it goes."""

    def sent(self, n: int) -> None:
        """`n` more bytes are done (sent, or skipped as already there); negative on a retry."""

    def finished(self, result: FileResult) -> None: ...


class FatalUploadError(PhotobusError):
    """The run cannot go on (unreachable server, refused key); wraps the cause."""

    def __init__(self, cause: PhotobusError) -> None:
        super().__init__(str(cause))
        self.cause = cause


async def _already_there(client: PhotobusClient, photo_id: str) -> bool:
    """Whether status knows the photo. Unsure (status away) counts as no: ingest dedups anyway."""
    try:
        return await client.photo(photo_id) is not None
    except AuthError:
        raise
    except PhotobusError:
        return False


async def upload_one(
    client: PhotobusClient,
    path: Path,
    options: UploadOptions,
    watcher: UploadWatcher,
    seen: dict[str, Path],
) -> FileResult:
    try:
        photo_id, size = await photo_id_of(path)
    except OSError as e:
        return FileResult(path, 0, "failed", reason="unreadable", detail=e.strerror or str(e))
    if photo_id in seen:
        watcher.sent(size)
        detail = f"same bytes as {seen[photo_id]}"
        return FileResult(path, size, "already_there", photo_id, detail=detail)
    seen[photo_id] = path
    if await _already_there(client, photo_id):
        watcher.sent(size)
        return FileResult(path, size, "already_there", photo_id)
    try:
        job = await client.upload_files([path], options, progress=watcher.sent)
    except OSError as e:
        return FileResult(path, size, "failed", reason="unreadable", detail=e.strerror or str(e))
    except AuthError:
        raise
    except ServerUnreachable as e:
        # Ingest may cut off one upload (a body over its limit) and still be up: then
        # only this file failed. If it is really gone, ping raises and the run ends.
        await client.ping()
        return FileResult(path, size, "failed", photo_id, reason="connection_lost", detail=e.reason)
    except ApiError as e:
        outcome: Outcome = "rejected" if e.status in (400, 413, 415) else "failed"
        return FileResult(path, size, outcome, photo_id, reason=e.code, detail=e.detail)
    item = job.items[0]
    base = FileResult(path, size, "uploaded", item.photo_id, job.job_id, item.item_id)
    if item.rejected is not None:
        return FileResult(
            path,
            size,
            "rejected",
            photo_id,
            job.job_id,
            item.item_id,
            reason=item.rejected.reason,
            detail=item.rejected.detail,
        )
    if item.duplicate:
        return FileResult(path, size, "already_there", base.photo_id, job.job_id, item.item_id)
    return base


async def upload_all(
    client: PhotobusClient,
    paths: Sequence[Path],
    options: UploadOptions,
    watcher: UploadWatcher,
    *,
    concurrency: int = 4,
) -> list[FileResult]:
    """Every file's result, in the order given. Raises FatalUploadError to end the run."""
    queue: asyncio.Queue[tuple[int, Path]] = asyncio.Queue()
    for entry in enumerate(paths):
        queue.put_nowait(entry)
    results: dict[int, FileResult] = {}
    seen: dict[str, Path] = {}

    async def worker() -> None:
        while not queue.empty():
            index, path = queue.get_nowait()
            result = await upload_one(client, path, options, watcher, seen)
            results[index] = result
            watcher.finished(result)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, min(concurrency, len(paths)))):
                group.create_task(worker())
    except* (AuthError, ServerUnreachable) as failures:
        first = failures.exceptions[0]
        assert isinstance(first, PhotobusError)
        raise FatalUploadError(first) from first
    return [results[i] for i in range(len(paths))]
