"""A ledger on a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from photobus_common.publishing.ledger import Ledger
from photobus_common.publishing.schema import ensure_schema

from tests.support.infra import TestDatabase


@pytest.fixture
async def pg_pool(database: TestDatabase) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database.dsn, min_size=1, max_size=12)
    assert pool is not None
    await ensure_schema(pool)
    yield pool
    await pool.close()


@pytest.fixture
def ledger(pg_pool: asyncpg.Pool) -> Ledger:
    return Ledger(pg_pool)
