"""A database of a test module's own, created with the service's own helpers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
from photobus_status.migrate import drop_database, ensure_database, migrate
from photobus_status.store import create_pool

TABLES = "processed_events, jobs, items, photos, deliveries, dead_letters"


def unique_dsn(admin_url: str) -> str:
    return urlsplit(admin_url)._replace(path=f"/photobus_test_{uuid.uuid4().hex[:12]}").geturl()


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    dsn = unique_dsn(admin_url)
    await ensure_database(dsn)
    try:
        yield dsn
    finally:
        await drop_database(dsn)


@asynccontextmanager
async def migrated_pool(admin_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with fresh_database(admin_url) as dsn:
        await migrate(dsn)
        pool = await create_pool(dsn, min_size=1, max_size=4)
        try:
            yield pool
        finally:
            await pool.close()


async def empty(pool: asyncpg.Pool) -> None:
    await pool.execute(f"TRUNCATE {TABLES} CASCADE")
