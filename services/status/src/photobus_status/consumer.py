"""Consumes every event (`#`) into the job view, one transaction per batch.

Each delivery's handler adds its event to the open batch and waits for that batch
to commit; the batch is written when it is full or a few milliseconds after its
first event, whichever comes first — but only one batch is written at a time: while
a write is in progress the open batch keeps filling and goes as soon as the write
ends (group commit), so a backlog is folded in large batches rather than in many
small ones queueing for the same lock. The handler returns (and Broker acks) only
after the commit, and raises `RetryLater` when the database failed — so no message
is acked before its effects are durable. A batch that fails is retried event by
event (unless Postgres is simply away), so one event the database refuses cannot
hold back the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from photobus_common.broker import Delivery, RetryLater
from photobus_common.events import Event
from prometheus_client import Histogram

from photobus_status.errors import DATABASE_DOWN

log = logging.getLogger(__name__)

BATCH_SIZE = Histogram(
    "photobus_status_batch_events",
    "Events folded per database transaction.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


class EventSink(Protocol):
    """Folds events durably (one transaction) and returns the job_ids they touched."""

    async def apply(self, events: Sequence[Event]) -> list[str]: ...


OnCommit = Callable[[list[str]], Awaitable[None]]


@dataclass
class _Batch:
    events: list[Event] = field(default_factory=list)
    results: list[asyncio.Future[None]] = field(default_factory=list)


class BatchFolder:
    def __init__(
        self,
        sink: EventSink,
        *,
        on_commit: OnCommit | None = None,
        max_size: int = 256,
        max_wait: float = 0.005,
        commit_timeout: float = 30.0,
    ) -> None:
        self.sink = sink
        self.commit_timeout = commit_timeout
        self.on_commit = on_commit
        self.max_size = max_size
        self.max_wait = max_wait
        self._open: _Batch | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    async def handle(self, event: Event, delivery: Delivery) -> None:
        """The consumer's handler: returns once `event` is committed."""
        result = asyncio.get_running_loop().create_future()
        batch = self._open
        if batch is None:
            batch = self._open = _Batch()
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._flush)
        batch.events.append(event)
        batch.results.append(result)
        if len(batch.events) >= self.max_size:
            self._flush()
        try:
            # Shielded: a cancelled handler (lost channel) must not cancel the others' commit.
            await asyncio.shield(result)
        except RetryLater:
            raise
        except Exception as e:
            raise RetryLater(f"could not fold {event.type}: {e!r}") from e

    async def drain(self) -> None:
        """Commit what is open and wait for every write in progress."""
        self._flush()
        while self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing:
            return  # the open batch goes when the write in progress ends (_written)
        batch, self._open = self._open, None
        if batch is None:
            return
        task = asyncio.create_task(self._write(batch))
        self._writing.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing.discard(task)
        self._flush()

    async def _write(self, batch: _Batch) -> None:
        BATCH_SIZE.observe(len(batch.events))
        try:
            await self._commit(batch)
        finally:
            # Cancelled mid-write (shutdown): the handlers must not wait forever.
            for result in batch.results:
                _settle(result, RetryLater("status is shutting down"))

    async def _commit(self, batch: _Batch) -> None:
        try:
            touched = await self._apply(_unique(batch.events))
        except Exception as e:
            if len(batch.events) == 1 or isinstance(e, DATABASE_DOWN):
                # Postgres is away: every event would fail alike; retry them all later.
                log.warning("folding %d events failed: %r", len(batch.events), e)
                for result in batch.results:
                    _settle(result, e)
                return
            log.warning(
                "a batch of %d events failed (%r); folding them one by one", len(batch.events), e
            )
            touched = await self._write_one_by_one(batch)
        else:
            for result in batch.results:
                _settle(result, None)
        await self._announce(touched)

    async def _write_one_by_one(self, batch: _Batch) -> list[str]:
        touched: set[str] = set()
        for event, result in zip(batch.events, batch.results, strict=True):
            try:
                touched.update(await self._apply([event]))
            except Exception as e:
                _settle(result, e)
            else:
                _settle(result, None)
        return sorted(touched)

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


def _unique(events: list[Event]) -> list[Event]:
    """A redelivered event may sit in the same batch as its first copy."""
    seen: dict[str, Event] = {}
    for event in events:
        seen.setdefault(str(event.event_id), event)
    return list(seen.values())


def _settle(result: asyncio.Future[None], error: Exception | None) -> None:
    if result.done():
        return
    if error is None:
        result.set_result(None)
    else:
        result.set_exception(error)
