"""How the status service tells "Postgres is away" from a bug."""

from __future__ import annotations

import asyncpg

# What asyncpg raises while Postgres is down or restarting, or the pool cannot connect;
# worth waiting out (retry, 503), unlike any other error.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    OSError,
    TimeoutError,
)
