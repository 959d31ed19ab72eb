"""Wires ingest: blob store, broker, the upload API and the URL-fetch worker.

Unlike the workers, ingest serves HTTP before RabbitMQ answers: until the broker is
connected (and the whole topology declared) uploads get 503 with Retry-After, and
/readyz says why, instead of the process failing to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from photobus_common.auth import with_api_keys
from photobus_common.blobs import BlobStore
from photobus_common.broker import Broker
from photobus_common.service import (
    BROKER,
    READINESS,
    blob_store_from,
    broker_from,
    new_app,
    with_blobs,
)
from photobus_common.topology import INGEST_FETCH

from photobus_ingest.config import IngestSettings
from photobus_ingest.cors import with_cors
from photobus_ingest.fetch import Resolver
from photobus_ingest.fetch_worker import FetchWorker, open_fetch_worker
from photobus_ingest.intake import PRODUCER, spool_directory
from photobus_ingest.routes import add_routes
from photobus_ingest.routes.context import INGEST, Ingest
from photobus_ingest.routes.errors import json_errors

log = logging.getLogger(__name__)

RECONNECT_DELAY = 1.0


def create_app(
    settings: IngestSettings,
    *,
    blobs: BlobStore | None = None,
    broker: Broker | None = None,
    fetch_worker: bool = True,
    resolver: Resolver | None = None,
) -> web.Application:
    """The ingest app; tests may pass their own blob store, broker, or DNS resolver."""
    app = new_app(middlewares=[json_errors], client_max_size=settings.max_upload_bytes)
    store = blobs or blob_store_from(settings)
    with_blobs(app, store)
    ingest = Ingest(
        settings=settings,
        blobs=store,
        broker=broker or broker_from(settings, PRODUCER),
        spool_dir=Path(),
    )
    app[INGEST] = ingest
    app[BROKER] = ingest.broker

    async def spooling(app: web.Application) -> AsyncIterator[None]:
        ingest.spool_dir = await asyncio.to_thread(spool_directory, store)
        yield

    async def broker_link(app: web.Application) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            worker = (
                await stack.enter_async_context(open_fetch_worker(ingest, resolver=resolver))
                if fetch_worker
                else None
            )
            task = asyncio.create_task(_connect(ingest, worker))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            # Stops the fetch consumer and lets in-flight fetches finish first.
            await ingest.broker.close()

    async def broker_ready() -> None:
        if not (ingest.broker_connected and ingest.broker.is_ready):
            raise RuntimeError("RabbitMQ connection is down")

    app.cleanup_ctx.append(spooling)
    app.cleanup_ctx.append(broker_link)
    app[READINESS].append(("broker", broker_ready))
    add_routes(app)
    with_api_keys(app, settings.api_key_table)
    with_cors(app)
    return app


async def _connect(ingest: Ingest, worker: FetchWorker | None) -> None:
    """Connect (retrying until RabbitMQ answers), start the URL-fetch worker, then accept."""
    broker = ingest.broker
    while True:
        try:
            await broker.connect()
            if worker is not None:
                await broker.consume(INGEST_FETCH, worker)
            break
        except Exception as e:  # aiormq raises several unrelated types for "not reachable"
            log.warning("RabbitMQ not reachable (%r); uploads get 503 until it is", e)
            with contextlib.suppress(Exception):
                await broker.close(drain_timeout=1)
            await asyncio.sleep(RECONNECT_DELAY)
    ingest.broker_connected = True
    log.info("connected to RabbitMQ; accepting uploads")
