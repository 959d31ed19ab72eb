"""The URL-fetch worker. Consumes `fetch.requested`. Emits `photo.received` or `photo.rejected`.

A fetch that fails (the remote said no, was too big or too slow, or the URL points
into our own network) is the item's terminal answer. A blob store or RabbitMQ that is
down is transient: the message is retried later. Redelivery is harmless: the same
bytes are the same photo, and the status view folds a repeated outcome into one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

import aiohttp
from photobus_common.blobs import BlobStoreUnavailable
from photobus_common.broker import Delivery, PublishError, Reject, RetryLater
from photobus_common.events import Event, FetchRequested

from photobus_ingest import metrics
from photobus_ingest.fetch import FetchError, FetchLimits, Resolver, fetch_url, open_fetch_session
from photobus_ingest.intake import Outcome, Refused, Spool, outcome_event, safe_filename
from photobus_ingest.netguard import IPNetwork, parse_networks
from photobus_ingest.routes.context import Ingest


class FetchWorker:
    def __init__(
        self,
        ingest: Ingest,
        session: aiohttp.ClientSession,
        *,
        resolver: Resolver | None = None,
    ) -> None:
        settings = ingest.settings
        self._ingest = ingest
        self._session = session
        self._resolver = resolver
        self._limits = FetchLimits(
            max_bytes=settings.fetch_max_bytes, total_timeout=settings.fetch_timeout
        )
        self._allowed: tuple[IPNetwork, ...] = parse_networks(settings.fetch_allow_networks)

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        if not isinstance(event, FetchRequested):
            raise Reject(f"the fetch worker does not handle {event.type}")
        outcome = await self._take_in(event.url)
        result = outcome_event(
            outcome,
            job_id=event.job_id,
            item_id=event.item_id,
            options=event.options,
            owner=event.owner,
            filename=url_filename(event.url),
            source_url=event.url,
        )
        try:
            await self._ingest.publish(result)
        except PublishError as e:
            raise RetryLater(f"RabbitMQ did not confirm the fetch's outcome: {e}") from e
        metrics.record(result, source="url")

    async def _take_in(self, url: str) -> Outcome:
        try:
            async with Spool(self._ingest.spool_dir, self._ingest.blobs) as spool:
                try:
                    await fetch_url(
                        self._session,
                        url,
                        spool.write,
                        self._limits,
                        allowed=self._allowed,
                        resolver=self._resolver,
                    )
                except FetchError as e:
                    return Refused(e.reason, e.detail)
                verdict = await spool.check(max_pixels=self._ingest.settings.max_pixels)
                if isinstance(verdict, Refused):
                    return verdict
                return await spool.store(verdict)
        except BlobStoreUnavailable as e:  # the spool's disk or the store: ours, not the URL's
            raise RetryLater(f"could not store the fetched original: {e}") from e


def url_filename(url: str) -> str | None:
    """The last path segment of a URL, as the name to show for its photo."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    return safe_filename(unquote(path))


@asynccontextmanager
async def open_fetch_worker(
    ingest: Ingest, *, resolver: Resolver | None = None
) -> AsyncIterator[FetchWorker]:
    """A worker with its own pinned HTTP session, closed on exit."""
    async with open_fetch_session() as session:
        yield FetchWorker(ingest, session, resolver=resolver)
