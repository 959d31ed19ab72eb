"""Albums (Imgur albums, Flickr photosets, Google Photos albums) a publisher created,
remembered by name in `publisher_albums` so every replica adds to the same one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg


class PgAlbumBook:
    """`AlbumBook` over `publisher_albums`; an advisory lock per (destination, name)
    makes replicas that meet a new album at once create it only once."""

    def __init__(self, pool: asyncpg.Pool, destination: str) -> None:
        self.pool = pool
        self.destination = destination

    async def ensure(self, name: str, create: Callable[[], Awaitable[str]]) -> tuple[str, bool]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"album:{self.destination}:{name}"
            )
            existing: str | None = await conn.fetchval(
                "SELECT remote_id FROM publisher_albums WHERE destination = $1 AND name = $2",
                self.destination,
                name,
            )
            if existing is not None:
                return existing, False
            album_id: str = await create()
            await conn.execute(
                "INSERT INTO publisher_albums (destination, name, remote_id) VALUES ($1, $2, $3)",
                self.destination,
                name,
                album_id,
            )
            return album_id, True
