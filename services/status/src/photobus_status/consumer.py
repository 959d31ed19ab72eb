"""Consumes every event (`#`) into the job view, one transaction per batch.

`Broker.consume_batches` groups deliveries (group commit: one batch is written at a
time while the next fills) and acks a batch only after `BatchFolder.fold` returned —
that is, after the commit — so no message is acked before its effects are durable.
When the database failed, the events come back as `RetryLater`. A batch that fails
is retried event by event (unless Postgres is simply away), so one event the
database refuses cannot hold back the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from photobus_common.broker import RetryLater
from photobus_common.events import Event
from prometheus_client import Histogram

from photobus_status.errors import DATABASE_DOWN

log = logging.getLogger(__name__)

BATCH_SIZE = Histogram(
    "photobus_status_batch_events",
    "Events folded per database transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)

# Batches of up to MAX_BATCH events; PREFETCH above it lets the next batch arrive
# while one is being written (measured with bench/status.py).
MAX_BATCH = 512
PREFETCH = 2 * MAX_BATCH
# A batch is written at most MAX_WAIT after its first event arrived. Most of a batch's
# cost is per transaction (a dozen round trips), not per event: while photos trickle
# in (~50 events/s as thumbnails are made), a short wait writes them a few at a time.
# bench/pipeline.py, back-to-back runs, CPU-ms per photo up to thumbnails-ready in
# status, Postgres and RabbitMQ: 3.7, 1.9, 4.6 at 100 ms; 2.0, 0.8, 3.3 at 250 ms.
# A job's view follows its events within ~0.25 s.
MAX_WAIT = 0.25


class EventSink(Protocol):
    """Folds events durably (one transaction) and returns the job_ids they touched."""

    async def apply(self, events: Sequence[Event]) -> list[str]: ...


OnCommit = Callable[[list[str]], Awaitable[None]]


class BatchFolder:
    def __init__(
        self,
        sink: EventSink,
        *,
        on_commit: OnCommit | None = None,
        commit_timeout: float = 30.0,
    ) -> None:
        self.sink = sink
        self.on_commit = on_commit
        self.commit_timeout = commit_timeout

    async def fold(self, events: Sequence[Event]) -> list[Exception | None]:
        """The batch handler: commits `events`, then says which of them are done (None)."""
        BATCH_SIZE.observe(len(events))
        outcomes: list[Exception | None]
        try:
            touched = await self._apply(_unique(events))
        except Exception as e:
            if len(events) == 1 or isinstance(e, DATABASE_DOWN):
                # Postgres is away: every event would fail alike; retry them all later.
                log.warning("folding %d events failed: %r", len(events), e)
                return [_retry(event, e) for event in events]
            log.warning("a batch of %d events failed (%r); folding them one by one", len(events), e)
            outcomes, touched = await self._one_by_one(events)
        else:
            outcomes = [None] * len(events)
        await self._announce(touched)
        return outcomes

    async def _one_by_one(
        self, events: Sequence[Event]
    ) -> tuple[list[Exception | None], list[str]]:
        outcomes: list[Exception | None] = []
        touched: set[str] = set()
        for event in events:
            try:
                touched.update(await self._apply([event]))
            except Exception as e:
                outcomes.append(_retry(event, e))
            else:
                outcomes.append(None)
        return outcomes, sorted(touched)

    async def _apply(self, events: list[Event]) -> list[str]:
        # A hung database must not hold messages forever: give up, let them be retried.
        # Had the commit gone through after all, the retry is deduplicated on event_id.
        async with asyncio.timeout(self.commit_timeout):
            return await self.sink.apply(events)

    async def _announce(self, job_ids: list[str]) -> None:
        if self.on_commit is None or not job_ids:
            return
        try:
            await self.on_commit(job_ids)
        except Exception:
            # Watchers miss one update; the view itself is committed and correct.
            log.exception("could not announce changes to %d jobs", len(job_ids))


def _unique(events: Sequence[Event]) -> list[Event]:
    """A redelivered event may sit in the same batch as its first copy."""
    seen: dict[str, Event] = {}
    for event in events:
        seen.setdefault(str(event.event_id), event)
    return list(seen.values())


def _retry(event: Event, error: Exception) -> RetryLater:
    if isinstance(error, RetryLater):
        return error
    return RetryLater(f"could not fold {event.type}: {error!r}")
