"""A photo's id is the SHA-256 of its bytes: computed here by streaming the file."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_file(path: Path) -> tuple[str, int]:
    """Lowercase hex SHA-256 of the file and its size, read in 1 MiB chunks (never whole)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


async def photo_id_of(path: Path) -> tuple[str, int]:
    """(photo id, size in bytes), hashed in a worker thread."""
    return await asyncio.to_thread(sha256_file, path)
