"""Who is watching which job, and telling them when it changed.

`JobChanges` fans notifications out to in-process subscribers (the SSE streams) and
to the cache of rendered jobs (`photobus_status.jobcache`). Every replica folds only
the events it happens to consume, so each transaction that changes jobs also sends
`NOTIFY photobus_jobs, '<job_id>'` (`announce`, delivered at its commit); `listen`
keeps a dedicated connection on that channel, so every replica hears of every change,
and pings it every second, so the cache knows how recent its news is.
Subscriptions coalesce: a watcher learns "something changed" and re-reads the job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from photobus_status.jobcache import JobCache

log = logging.getLogger(__name__)

CHANNEL = "photobus_jobs"
PING_SECONDS = 1.0
PING_TIMEOUT = 5.0


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
    def __init__(self, cache: JobCache | None = None) -> None:
        self._watchers: dict[str, set[Subscription]] = {}
        self.cache = cache

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

    def notify(self, job_ids: Iterable[str], version: int | None = None) -> None:
        """These jobs changed (in transaction `version`, when known)."""
        job_ids = list(job_ids)
        if self.cache is not None:
            self.cache.changed(job_ids, version)
        self.notify_watchers(job_ids)

    def notify_watchers(self, job_ids: Iterable[str]) -> None:
        """Only the streams: for this replica's own commits, whose bodies the store has
        handed to the cache already."""
        for job_id in job_ids:
            for subscription in self._watchers.get(job_id, ()):
                subscription._signal()

    def notify_all(self) -> None:
        """After a gap in notifications (listener reconnected), make every watcher re-read."""
        self.notify(list(self._watchers))

    def caught_up(self, as_of: float) -> None:
        """Every change committed before `as_of` (time.monotonic) has been notified."""
        if self.cache is not None:
            self.cache.caught_up(as_of)

    def lost(self) -> None:
        """Notifications may have been missed (the listener is down, or just back)."""
        if self.cache is not None:
            self.cache.lost()

    @property
    def watched(self) -> int:
        return sum(len(s) for s in self._watchers.values())


async def announce(
    conn: asyncpg.Connection | PoolConnectionProxy, job_ids: Iterable[str]
) -> int | None:
    """Tell every replica (this one included, through its listener) that these jobs changed
    — within a transaction, at its commit — as `<job_id> <transaction id>`; returns the
    transaction id (None when no job changed)."""
    ids = sorted(set(job_ids))
    if not ids:
        return None
    version: int = await conn.fetchval(
        "SELECT max(v) FROM (SELECT pg_notify($1, j || ' ' || txid_current()),"
        " txid_current() AS v FROM unnest($2::text[]) AS j) AS sent",
        CHANNEL,
        ids,
    )
    return version


def parse(payload: str) -> tuple[str, int | None]:
    """`<job_id> <version>` (or a bare job_id, from a replica that sends no version)."""
    job_id, _, version = payload.partition(" ")
    return job_id, int(version) if version.isdigit() else None


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
        job_id, version = parse(str(payload))
        changes.notify([job_id], version)

    closed = asyncio.Event()
    conn.add_termination_listener(lambda _conn: closed.set())
    try:
        await conn.add_listener(CHANNEL, on_notify)
        changes.lost()  # what was read while no one listened may have changed unheard
        if missed_some:
            changes.notify_all()
        while not closed.is_set():
            # Notifications arrive on their own. An answered ping proves every change
            # committed before it was sent has been heard (Postgres sends pending
            # notifications ahead of a query's answer), and notices a connection dead
            # silently.
            sent = time.monotonic()
            async with asyncio.timeout(PING_TIMEOUT):
                await conn.execute("SELECT 1")
            changes.caught_up(sent)
            try:
                async with asyncio.timeout(PING_SECONDS):
                    await closed.wait()
            except TimeoutError:
                pass
    finally:
        changes.lost()
        conn.terminate()
