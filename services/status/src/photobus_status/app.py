"""Wires the status service once: database (migrated at start), blobs, broker, the
consumers that fold events into the job view, live notifications and the HTTP API.

Consumes every event (`#`) and every consumer's `.dlq`. Emits `publish.requested`
and `thumbnail.requested` from its API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import asyncpg
from aiohttp import web
from photobus_common.blobs import BlobStore
from photobus_common.broker import Broker
from photobus_common.service import (
    BROKER,
    PG_POOL,
    READINESS,
    blob_store_from,
    broker_from,
    new_app,
    with_blobs,
    with_broker,
)
from photobus_common.topology import STATUS, deployment_specs

from photobus_status import store
from photobus_status.config import StatusSettings
from photobus_status.consumer import MAX_BATCH, MAX_WAIT, PREFETCH, BatchFolder
from photobus_status.deadletters import DeadLetterReader
from photobus_status.gallery import setup_gallery
from photobus_status.gallery.signin import guard
from photobus_status.jobcache import JobCache
from photobus_status.live import JobChanges, listen
from photobus_status.migrate import ensure_database, migrate
from photobus_status.routes import (
    CHANGES,
    JOB_CACHE,
    SETTINGS,
    jobs,
    json_errors,
    photos,
    refuse_nul,
    seeds,
)
from photobus_status.routes.openapi import openapi

log = logging.getLogger(__name__)

PRODUCER = "status"
POOL_SIZE = 10

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


def create_app(
    settings: StatusSettings,
    *,
    broker: Broker | None = None,
    blobs: BlobStore | None = None,
    consume: bool = True,
) -> web.Application:
    """`consume=False` serves the API only (no consumers, no dead-letter readers)."""
    app = new_app(middlewares=[json_errors, refuse_nul])
    app[SETTINGS] = settings
    app[JOB_CACHE] = JobCache()
    app[CHANGES] = JobChanges(app[JOB_CACHE])
    _with_database(app, settings.database_url)
    with_blobs(
        app,
        blobs or blob_store_from(settings),
    )
    with_broker(
        app,
        broker or broker_from(settings, PRODUCER),
    )
    app.cleanup_ctx.append(_live_updates(settings.database_url))
    if consume:
        app.cleanup_ctx.append(_consumers(settings))
    for module in (jobs, photos, seeds):
        app.add_routes(module.routes)
    app.router.add_get("/openapi.json", openapi)
    setup_gallery(app, settings)
    guard(app, settings)  # API keys, and the gallery's sign-in with them
    return app


def _with_database(app: web.Application, dsn: str) -> None:
    """Create the database if missing and migrate it, then open the pool."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = await _until_reachable(dsn)
        app[PG_POOL] = pool
        yield
        await pool.close()

    async def ready() -> None:
        async with app[PG_POOL].acquire() as conn:
            await conn.execute("SELECT 1")

    app.cleanup_ctx.append(ctx)
    app[READINESS].append(("database", ready))


async def _until_reachable(dsn: str, attempts: int = 60) -> asyncpg.Pool:
    for attempt in range(1, attempts + 1):
        try:
            await ensure_database(dsn)
            applied = await migrate(dsn)
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
            # Every connection opened at start: one opened under load (TLS attempt, codec
            # set-up) stalled the reads queued behind it by tens of ms (bench/status.py).
            return await store.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE)
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as e:
            if attempt == attempts:
                raise
            log.warning("Postgres not reachable (%s); retrying", e)
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


def _live_updates(dsn: str) -> CleanupContext:
    """LISTEN for changes any replica commits, for this replica's SSE streams."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(listen(dsn, app[CHANGES]), name="status-listen")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def _consumers(settings: StatusSettings) -> CleanupContext:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool, broker, changes = app[PG_POOL], app[BROKER], app[CHANGES]
        sink = store.EventStore(
            pool,
            terminal_destinations_required=settings.terminal_destinations_required,
            cache=app[JOB_CACHE],  # the bodies it commits: this replica reads them at once
        )

        async def on_commit(job_ids: list[str]) -> None:
            # This replica's streams at once; every replica's (this one's too) through
            # the NOTIFY sent in the transaction.
            changes.notify_watchers(job_ids)

        folder = BatchFolder(sink, on_commit=on_commit)
        await broker.consume_batches(
            STATUS, folder.fold, max_size=MAX_BATCH, max_wait=MAX_WAIT, prefetch=PREFETCH
        )
        readers = DeadLetterReader(broker, sink, on_commit=on_commit)
        await readers.start(deployment_specs(settings.publishers))
        yield
        # Broker.close (the next cleanup) stops delivery and waits for the batches.

    return ctx
