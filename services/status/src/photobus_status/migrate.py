"""Schema migrations: numbered SQL files applied once each, in order.

Each file runs in its own transaction under a transaction-scoped advisory lock,
so services starting together apply every file exactly once; `schema_migrations`
records what is applied.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x70686F746F627573  # "photobus"; the same for every status instance

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))


async def migrate(
    dsn_or_conn: str | asyncpg.Connection, *, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Apply the migrations not yet applied; returns the names applied now."""
    if isinstance(dsn_or_conn, str):
        conn = await asyncpg.connect(dsn_or_conn)
        try:
            return await _migrate(conn, directory)
        finally:
            await conn.close()
    return await _migrate(dsn_or_conn, directory)


async def _migrate(conn: asyncpg.Connection, directory: Path) -> list[str]:
    applied: list[str] = []
    for path in migration_files(directory):
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(_CREATE_LEDGER)
            done = await conn.fetchval(
                "SELECT true FROM schema_migrations WHERE name = $1", path.name
            )
            if done:
                continue
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", path.name)
        applied.append(path.name)
    return applied


def database_name(dsn: str) -> str:
    name = unquote(urlsplit(dsn).path.lstrip("/"))
    if not name:
        raise ValueError(f"the database URL names no database: {urlsplit(dsn)._replace(netloc='')}")
    return name


async def ensure_database(dsn: str) -> None:
    """Create the database the DSN names if it is missing (via the server's `postgres` db)."""
    name = database_name(dsn)
    conn = await asyncpg.connect(dsn, database="postgres")
    try:
        exists = await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another instance may create it in the meantime.
            with suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    """Drop the database the DSN names (tests use it to clean up)."""
    conn = await asyncpg.connect(dsn, database="postgres")
    try:
        await conn.execute(
            f"DROP DATABASE IF EXISTS {_quote_ident(database_name(dsn))} WITH (FORCE)"
        )
    finally:
        await conn.close()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
