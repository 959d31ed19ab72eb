"""`python -m photobus_status.dbsetup`: create the database if missing and apply migrations.

`make run` and `make test` call it; the status service also migrates at start.
"""

from __future__ import annotations

import asyncio

from photobus_common.settings import CommonSettings

from photobus_status.migrate import ensure_database, migrate


async def setup(dsn: str) -> list[str]:
    await ensure_database(dsn)
    return await migrate(dsn)


def main() -> None:
    dsn = CommonSettings().database_url
    applied = asyncio.run(setup(dsn))
    print(f"database ready ({len(applied)} migrations applied)")


if __name__ == "__main__":
    main()
