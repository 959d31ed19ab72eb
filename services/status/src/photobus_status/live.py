"""Who is watching which job, and telling them when it changed.

`JobChanges` fans notifications out to in-process subscribers (the SSE streams).
Every replica folds only the events it happens to consume, so each committed
batch is also announced with `NOTIFY photobus_jobs, '<job_id>'`; `listen` keeps a
dedicated connection on that channel, so every replica's streams hear of every change.
Subscriptions coalesce: a watcher learns "something changed" and re-reads the job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "photobus_jobs"


class Subscription:
    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def _signal(self) -> None:
        self._changed.set()

    async def wait(self, seconds: float) -> bool:
        """True when the job changed since the last wait, False after `seconds`."""
        try:
            async with asyncio.timeout(seconds):
                await self._changed.wait()
        except TimeoutError:
            return False
        self._changed.clear()
        return True


class JobChanges:
    def __init__(self) -> None:
        self._watchers: dict[str, set[Subscription]] = {}

    @contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        subscription = Subscription()
        self._watchers.setdefault(job_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            watchers = self._watchers.get(job_id, set())
            watchers.discard(subscription)
            if not watchers:
                self._watchers.pop(job_id, None)

    def notify(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            for subscription in self._watchers.get(job_id, ()):
                subscription._signal()

    def notify_all(self) -> None:
        """After a gap in notifications (listener reconnected), make every watcher re-read."""
        self.notify(list(self._watchers))

    @property
    def watched(self) -> int:
        return sum(len(s) for s in self._watchers.values())


async def announce(pool: asyncpg.Pool, job_ids: Iterable[str]) -> None:
    """Tell every replica (this one included, through its listener) that these jobs changed."""
    ids = sorted(set(job_ids))
    if ids:
        await pool.execute("SELECT pg_notify($1, j) FROM unnest($2::text[]) AS j", CHANNEL, ids)


async def listen(dsn: str, changes: JobChanges, *, retry_delay: float = 1.0) -> None:
    """Forward `NOTIFY photobus_jobs` to local watchers until cancelled; reconnects on loss."""
    reconnecting = False
    while True:
        try:
            await _listen_once(dsn, changes, missed_some=reconnecting)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # asyncpg raises OSError or its own errors when the server is gone
            log.warning("lost the LISTEN connection (%r); reconnecting", e)
        reconnecting = True
        await asyncio.sleep(retry_delay)


async def _listen_once(dsn: str, changes: JobChanges, *, missed_some: bool) -> None:
    conn = await asyncpg.connect(dsn)

    def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        changes.notify([str(payload)])

    closed = asyncio.Event()
    conn.add_termination_listener(lambda _conn: closed.set())
    try:
        await conn.add_listener(CHANNEL, on_notify)
        if missed_some:
            changes.notify_all()
        while not closed.is_set():
            # Notifications arrive on their own; the ping notices a connection dead silently.
            try:
                async with asyncio.timeout(5):
                    await closed.wait()
            except TimeoutError:
                await conn.execute("SELECT 1")
    finally:
        conn.terminate()
