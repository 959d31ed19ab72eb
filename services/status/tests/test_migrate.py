"""Migrations apply once each, in order, even when services start together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from photobus_status.migrate import ensure_database, migrate, migration_files

from services.status.tests.pg import fresh_database


async def applied(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY name")
    finally:
        await conn.close()
    return [r["name"] for r in rows]


async def test_migrate_applies_each_file_once(admin_pg_url: str) -> None:
    names = [p.name for p in migration_files()]
    assert names[0].startswith("0001_")
    async with fresh_database(admin_pg_url) as dsn:
        assert await migrate(dsn) == names
        assert await migrate(dsn) == []
        assert await applied(dsn) == names


async def test_services_starting_together_apply_migrations_once(admin_pg_url: str) -> None:
    names = [p.name for p in migration_files()]
    async with fresh_database(admin_pg_url) as dsn:
        results = await asyncio.gather(*(migrate(dsn) for _ in range(6)))
        assert sorted(name for result in results for name in result) == names
        assert await applied(dsn) == names


async def test_a_failing_migration_leaves_the_earlier_ones_applied(
    admin_pg_url: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE one (id int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE two (id int); SELECT nonsense;")
    async with fresh_database(admin_pg_url) as dsn:
        with pytest.raises(asyncpg.UndefinedColumnError):
            await migrate(dsn, directory=tmp_path)
        assert await applied(dsn) == ["0001_ok.sql"]
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT to_regclass('two')") is None
        finally:
            await conn.close()


async def test_ensure_database_is_idempotent(admin_pg_url: str) -> None:
    async with fresh_database(admin_pg_url) as dsn:
        await asyncio.gather(ensure_database(dsn), ensure_database(dsn))
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_database()") == dsn.rsplit("/", 1)[1]
        finally:
            await conn.close()
