"""The cache of job bodies: kept until the job changes, and only while notifications are
known to be arriving."""

from __future__ import annotations

import asyncio

from photobus_status.jobcache import JobCache, Rendered


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Db:
    """Loads the job's current version; counts the loads."""

    def __init__(self) -> None:
        self.version = 1
        self.loads = 0
        self.gate: asyncio.Event | None = None

    async def load(self) -> Rendered:
        self.loads += 1
        version = self.version  # read now; the answer may arrive later
        if self.gate is not None:
            await self.gate.wait()
        return Rendered.of("alice", f'{{"version": {version}}}'.encode())


def cache_at(clock: Clock, trust: float = 3.0) -> JobCache:
    cache = JobCache(trust_seconds=trust, clock=clock)
    cache.caught_up(clock.now)
    return cache


async def test_a_job_is_loaded_once_until_it_changes() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock)

    first = await cache.get("j", db.load)
    assert await cache.get("j", db.load) is first
    assert db.loads == 1

    db.version = 2
    cache.changed(["j"])
    again = await cache.get("j", db.load)
    assert again is not None and again.body == b'{"version": 2}'
    assert first is not None and again.etag != first.etag
    assert db.loads == 2


async def test_a_load_that_overlaps_a_change_is_not_kept() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock)
    db.gate = asyncio.Event()
    reading = asyncio.create_task(cache.get("j", db.load))
    await asyncio.sleep(0)  # the load has read version 1
    db.version = 2
    cache.changed(["j"])  # ...and the commit's notification arrives before its answer
    db.gate.set()
    stale = await reading
    assert stale is not None and stale.body == b'{"version": 1}'  # it overlapped the commit

    fresh = await cache.get("j", db.load)  # not the overlapping load: a new one
    assert fresh is not None and fresh.body == b'{"version": 2}'
    assert db.loads == 2


async def test_nothing_is_served_once_notifications_are_not_known_to_arrive() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock, trust=3.0)
    await cache.get("j", db.load)

    clock.now += 2.9  # the listener's last answered ping was sent 2.9 s ago
    assert await cache.get("j", db.load) is not None and db.loads == 1
    clock.now += 0.2  # 3.1 s: a change could have gone unheard since
    db.version = 2
    latest = await cache.get("j", db.load)
    assert latest is not None and latest.body == b'{"version": 2}'
    assert db.loads == 2 and len(cache) == 0  # and nothing is kept until caught up

    cache.caught_up(clock.now)
    await cache.get("j", db.load)
    assert await cache.get("j", db.load) is not None and db.loads == 3


async def test_a_lost_listener_drops_everything_and_loads_in_flight() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock)
    await cache.get("done", db.load)
    db.gate = asyncio.Event()
    reading = asyncio.create_task(cache.get("reading", db.load))
    await asyncio.sleep(0)

    cache.lost()
    cache.caught_up(clock.now)  # listening again, before the load answers
    db.gate.set()
    await reading

    assert len(cache) == 0  # neither the old entry nor the load begun while deaf


async def test_a_missing_job_is_not_kept() -> None:
    clock = Clock()
    cache = cache_at(clock)
    calls = 0

    async def missing() -> Rendered | None:
        nonlocal calls
        calls += 1
        return None

    assert await cache.get("j", missing) is None
    assert await cache.get("j", missing) is None
    assert calls == 2


async def test_the_least_recently_read_job_makes_room() -> None:
    clock, db = Clock(), Db()
    cache = JobCache(max_bytes=2 * len(b'{"version": 1}'), clock=clock)  # two bodies
    cache.caught_up(clock.now)
    for job in ("a", "b"):
        await cache.get(job, db.load)
    await cache.get("a", db.load)  # a is read again: b is the least recent
    await cache.get("c", db.load)
    loads = db.loads
    await cache.get("a", db.load)
    assert db.loads == loads  # still there
    await cache.get("b", db.load)
    assert db.loads == loads + 1  # made room for c


def written(version: int, text: str = "w") -> Rendered:
    return Rendered.of("alice", f'{{"written": "{text}"}}'.encode(), version)


async def test_a_body_this_replica_wrote_is_read_from_memory_until_a_later_change() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock)
    cache.written("j", written(7))
    assert await cache.get("j", db.load) == written(7) and db.loads == 0

    cache.changed(["j"], 7)  # its own notification, arriving after the commit
    assert await cache.get("j", db.load) == written(7) and db.loads == 0
    cache.changed(["j"], 8)  # another replica's later commit
    assert (await cache.get("j", db.load)) != written(7) and db.loads == 1


async def test_a_change_of_unknown_version_drops_a_written_body() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock)
    cache.written("j", written(7))
    cache.changed(["j"])  # a replica that sends no version
    await cache.get("j", db.load)
    assert db.loads == 1


async def test_a_write_revokes_a_load_in_progress_and_outlives_older_ones() -> None:
    clock, db = Clock(), Db()
    cache = cache_at(clock)
    db.gate = asyncio.Event()
    reading = asyncio.create_task(cache.get("j", db.load))
    await asyncio.sleep(0)  # the load read the state before the write
    cache.written("j", written(9))
    db.gate.set()
    await reading
    assert await cache.get("j", db.load) == written(9)

    cache.written("j", written(8, "older"))  # (never newer than what is kept)
    assert await cache.get("j", db.load) == written(9)


async def test_nothing_written_is_kept_while_notifications_are_not_known_to_arrive() -> None:
    cache = cache_at(Clock())
    cache.lost()
    cache.written("j", written(7))
    assert len(cache) == 0
