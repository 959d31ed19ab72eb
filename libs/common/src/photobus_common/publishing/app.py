"""Wires one publisher service: Postgres (ledger), blob store, broker, the destination
and its consumer. Each service's `__main__` names its destination and how to build it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import asyncpg
from aiohttp import web

from photobus_common.blobs import BlobStore
from photobus_common.broker import Broker
from photobus_common.events import DESTINATIONS
from photobus_common.events import Destination as DestinationName
from photobus_common.publishing.albums import PgAlbumBook
from photobus_common.publishing.breaker import Budget, CircuitBreaker
from photobus_common.publishing.destination import AlbumBook, Destination
from photobus_common.publishing.ledger import Ledger
from photobus_common.publishing.runtime import PublishHandler
from photobus_common.publishing.schema import ensure_database, ensure_schema
from photobus_common.publishing.settings import PublisherSettings
from photobus_common.service import (
    BLOBS,
    BROKER,
    PG_POOL,
    blob_store_from,
    broker_from,
    new_app,
    with_blobs,
    with_broker,
    with_pg_pool,
)
from photobus_common.topology import ConsumerSpec, deployment_specs, publisher_spec

DestinationFactory = Callable[[PublisherSettings, AlbumBook], Destination]

DESTINATION = web.AppKey("destination", Destination)


def consumer_spec(name: DestinationName, settings: PublisherSettings) -> ConsumerSpec:
    return dataclasses.replace(
        publisher_spec(name, settings.publish_retry_delays), prefetch=settings.publish_concurrency
    )


def create_publisher_app(
    settings: PublisherSettings,
    name: DestinationName,
    make_destination: DestinationFactory,
    *,
    broker: Broker | None = None,
    blobs: BlobStore | None = None,
) -> web.Application:
    spec = consumer_spec(name, settings)
    app = new_app()
    with_blobs(
        app,
        blobs or blob_store_from(settings),
    )

    async def database(app: web.Application) -> AsyncIterator[None]:
        await ensure_database(settings.database_url)
        yield

    async def schema(pool: asyncpg.Pool) -> None:
        await ensure_schema(pool)

    app.cleanup_ctx.append(database)
    with_pg_pool(
        app, settings.database_url, max_size=settings.publish_concurrency + 4, setup=schema
    )
    others = [s for s in deployment_specs(DESTINATIONS) if s.service != spec.service]
    with_broker(
        app,
        broker or broker_from(settings, spec.service, topology=[*others, spec]),
    )

    async def consuming(app: web.Application) -> AsyncIterator[None]:
        pool = app[PG_POOL]
        destination = make_destination(settings, PgAlbumBook(pool, name))
        await destination.start()
        app[DESTINATION] = destination
        handler = PublishHandler(
            destination=destination,
            ledger=Ledger(pool, lease=timedelta(seconds=settings.claim_lease_seconds)),
            blobs=app[BLOBS],
            events=app[BROKER],
            budget=Budget(
                CircuitBreaker(
                    threshold=settings.breaker_threshold, cool_down=settings.breaker_cool_down
                ),
                concurrency=settings.publish_concurrency,
            ),
        )
        await app[BROKER].consume(spec, handler)
        yield
        # Stop taking messages and let in-flight uploads finish before sessions close.
        await app[BROKER].stop_consuming()
        await destination.close()

    app.cleanup_ctx.append(consuming)
    return app
