"""The publishers' tables, created at start (idempotently, one replica at a time).

`publisher_ledger`: one row per (photo, destination) — the claim that makes a photo
published at most once per destination, and what to report when asked again.
`publisher_albums`: albums/photosets a publisher created, remembered by name.
"""

from __future__ import annotations

from contextlib import suppress
from urllib.parse import unquote, urlsplit

import asyncpg

_LOCK_KEY = 0x7075626C65646772  # "publedgr": the same for every publisher replica

DDL = """
CREATE TABLE IF NOT EXISTS publisher_ledger (
    photo_id          text        NOT NULL,
    destination       text        NOT NULL,
    state             text        NOT NULL CHECK (state IN ('uploading', 'published', 'failed')),
    remote_id         text,
    url               text,
    attempts          integer     NOT NULL DEFAULT 0,
    claim_id          text        NOT NULL,
    item_id           text,
    job_id            text,
    options           jsonb,
    last_error        text,
    failed_permanently boolean    NOT NULL DEFAULT false,
    sending_since     timestamptz,
    claimed_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (photo_id, destination)
);
CREATE TABLE IF NOT EXISTS publisher_albums (
    destination text        NOT NULL,
    name        text        NOT NULL,
    remote_id   text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (destination, name)
);
"""


async def ensure_schema(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(DDL)


async def ensure_database(dsn: str) -> None:
    """Create the database the DSN names if missing (a publisher may start before status)."""
    name = unquote(urlsplit(dsn).path.lstrip("/"))
    try:
        conn = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(dsn, database="postgres")
        try:
            # Another service may create it in the meantime.
            with suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await admin.execute('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
        finally:
            await admin.close()
    else:
        await conn.close()
