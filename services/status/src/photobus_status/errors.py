"""How the status service tells "Postgres is away" from a bug."""

from __future__ import annotations

import asyncpg

# What asyncpg raises while Postgres is down or restarting, or the pool cannot connect;
# worth waiting out (retry, 503), unlike any other error.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    # A pooled connection whose session the server ended (a restart, a failover,
    # pg_terminate_backend) may fail its next query with "cannot switch to state 12;
    # another operation (2) is in progress" before asyncpg sees it closed
    # (MagicStack/asyncpg#1069); the pool then drops it.
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
