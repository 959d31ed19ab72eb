"""The Postgres view: idempotent, order-independent, one transaction per batch."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest
from photobus_common.events import Event, ItemOptions, MessageDeadLettered
from photobus_status import store as store_module
from photobus_status.live import CHANNEL, parse
from photobus_status.queries import get_job, job_body
from photobus_status.store import EventStore

from services.status.tests.histories import (
    accepted,
    failed,
    photo_id,
    published,
    received,
    rejected,
    republish,
    retrying,
    skipped,
    thumb_failed,
    thumbnailed,
    upload,
)
from services.status.tests.pg import empty, migrated_pool

P1, P2, P3 = photo_id(1), photo_id(2), photo_id(3)


@pytest.fixture(scope="module")
async def pool(admin_pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_pool(admin_pg_url) as pool:
        yield pool


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    await empty(pool)
    return EventStore(pool, terminal_destinations_required=True)


def two_jobs() -> list[Event]:
    """Job 1: a rejected item, a photo published after retries, one failed then re-published;
    job 2 uploads job 1's photo again (a duplicate) and another whose thumbnail fails."""
    return [
        accepted("job-1", [upload("a"), upload("b"), upload("c")], 0),
        rejected("job-1", "a", 1),
        received("job-1", "b", P1, 2),
        received("job-1", "c", P2, 3),
        thumbnailed(P1, 4),
        thumbnailed(P2, 5, job="job-1"),
        retrying("job-1", "b", P1, "imgur", 6, attempt=1),
        published("job-1", "b", P1, "imgur", 7),
        skipped("job-1", "b", P1, "flickr", 7),
        failed("job-1", "c", P2, "imgur", 8),
        republish(P2, "imgur", 9),
        published(None, None, P2, "imgur", 10),
        published("job-1", "c", P2, "flickr", 11),
        accepted("job-2", [upload("x"), upload("y")], 20, owner="bob"),
        received("job-2", "x", P1, 21, owner="bob"),
        received("job-2", "y", P3, 22, owner="bob"),
        published("job-2", "x", P1, "imgur", 23, duplicate=True),
        skipped("job-2", "x", P1, "flickr", 23),
        thumb_failed(P3, 24),
    ]


async def snapshot(pool: asyncpg.Pool) -> dict[str, object]:
    jobs = {j: await get_job(pool, j) for j in ("job-1", "job-2")}
    return {j: doc.model_dump() if doc else None for j, doc in jobs.items()}


async def test_applying_the_same_events_twice_changes_nothing(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    history = two_jobs()
    assert await store.apply(history) == ["job-1", "job-2"]
    first = await snapshot(pool)
    assert await store.apply(history) == []
    assert await snapshot(pool) == first
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == len(history)


async def test_the_expected_view_is_stored(store: EventStore, pool: asyncpg.Pool) -> None:
    await store.apply(two_jobs())
    job1, job2 = await get_job(pool, "job-1"), await get_job(pool, "job-2")
    assert job1 is not None
    assert job2 is not None
    assert (job1.status, job2.status) == ("partial", "partial")
    states = {i.item_id: i.state for i in job1.items}
    assert states == {"a": "failed", "b": "completed", "c": "completed"}
    assert job1.items[2].destinations["imgur"].state == "published"
    x = job2.items[0]
    assert x.duplicate
    assert x.destinations["imgur"].duplicate
    assert not job1.items[1].duplicate
    assert job2.items[1].state == "failed"


@pytest.mark.parametrize("seed", range(8))
async def test_any_order_in_any_batches_gives_the_same_view(
    store: EventStore, pool: asyncpg.Pool, seed: int
) -> None:
    history = two_jobs()
    await store.apply(history)
    expected = await snapshot(pool)
    await empty(pool)

    rng = random.Random(seed)
    delivered = [e for e in history for _ in range(rng.randint(1, 3))]
    rng.shuffle(delivered)
    while delivered:
        size = rng.randint(1, 6)
        batch, delivered = delivered[:size], delivered[size:]
        await store.apply(batch)
    assert await snapshot(pool) == expected


async def test_a_batch_is_atomic(
    store: EventStore, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store_module, "write_jobs", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.apply(two_jobs())
    for table in ("processed_events", "photos", "deliveries", "jobs"):
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 0
    monkeypatch.undo()
    assert await store.apply(two_jobs()) == ["job-1", "job-2"]


async def test_duplicates_within_a_batch_apply_once(store: EventStore, pool: asyncpg.Pool) -> None:
    event = accepted("job-1", [upload("a")], 0)
    assert await store.apply([event, event, event]) == ["job-1"]
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == 1


async def test_a_photo_event_touches_every_job_that_received_the_photo(
    store: EventStore,
) -> None:
    await store.apply([received("job-1", "a", P1, 1), received("job-2", "x", P1, 2)])
    assert await store.apply([thumbnailed(P1, 3)]) == ["job-1", "job-2"]


async def test_without_publishers_jobs_complete_on_thumbnails(pool: asyncpg.Pool) -> None:
    await empty(pool)
    store = EventStore(pool, terminal_destinations_required=False)
    await store.apply(
        [accepted("job-1", [upload("a")], 0), received("job-1", "a", P1, 1), thumbnailed(P1, 2)]
    )
    job = await get_job(pool, "job-1")
    assert job is not None
    assert job.status == "completed"
    assert job.finished == thumbnailed(P1, 2).occurred_at
    assert job.items[0].destinations["imgur"].state == "pending"


async def test_dead_letters_are_recorded_and_shown(store: EventStore, pool: asyncpg.Pool) -> None:
    dead = MessageDeadLettered(
        producer="ingest", job_id="job-1", item_id="a", queue="photobus.ingest",
        original_type="fetch.requested", reason="undecodable",
    )  # fmt: skip
    await store.apply([accepted("job-1", [upload("a")], 0)])
    assert await store.record_dead_letter(dead) == ["job-1"]
    job = await get_job(pool, "job-1")
    assert job is not None
    assert (job.status, job.items[0].reason) == ("failed", "dead_lettered: undecodable")
    row = await pool.fetchrow("SELECT queue, reason FROM dead_letters")
    assert row is not None
    assert dict(row) == {"queue": "photobus.ingest", "reason": "undecodable"}


async def test_replicas_applying_overlapping_batches_together_agree(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    history = two_jobs()
    await store.apply(history)
    expected = await snapshot(pool)
    await empty(pool)

    replicas = [EventStore(pool, terminal_destinations_required=True) for _ in range(3)]
    rng = random.Random(7)
    batches = [rng.sample(history, len(history) // 2) for _ in range(6)]
    batches.append(history)
    await asyncio.gather(*(replicas[n % 3].apply(b) for n, b in enumerate(batches)))
    assert await snapshot(pool) == expected
    assert await pool.fetchval("SELECT count(*) FROM processed_events") == len(history)


async def test_a_job_written_before_bodies_were_kept_reads_alike(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    await store.apply(two_jobs())
    for job in ("job-1", "job-2"):
        stored = await job_body(pool, job)
        await pool.execute("UPDATE jobs SET body = NULL WHERE job_id = $1", job)
        rendered = await job_body(pool, job)  # from the documents, on read
        assert stored is not None and rendered is not None
        assert json.loads(rendered.body) == json.loads(stored.body)
        assert rendered.owner == stored.owner


async def test_a_batch_announces_the_jobs_it_changed_at_its_commit(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        heard.put_nowait(str(payload))

    async with pool.acquire() as listener:
        await listener.add_listener(CHANNEL, on_notify)
        try:
            history = two_jobs()
            assert await store.apply(history) == ["job-1", "job-2"]
            async with asyncio.timeout(5):
                notified = [parse(await heard.get()), parse(await heard.get())]
            assert sorted(job for job, _ in notified) == ["job-1", "job-2"]
            written = await job_body(pool, "job-1")  # the transaction id rides along
            assert written is not None and {v for _, v in notified} == {written.version}
            assert await store.apply(history) == []  # nothing new: nothing announced
            await listener.execute("SELECT 1")  # a notification would have come before this
            await asyncio.sleep(0)  # (its callback is scheduled, not run, on arrival)
            assert heard.empty()
        finally:
            await listener.remove_listener(CHANNEL, on_notify)


async def test_a_photos_derived_columns_hold_every_upload_s_tags_titles_and_owners(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """Written a batch at a time (one statement per table): odd strings arrive whole."""
    odd = ItemOptions(title='a "title", {braced}', tags=("x,y", "back\\slash", "é", "NULL"))
    plain = ItemOptions(title="plain", tags=("x,y",))
    first = received("job-1", "a", P1, 1).model_copy(update={"options": odd})
    again = received("job-2", "b", P1, 2, owner="bob").model_copy(update={"options": plain})
    await store.apply([first, again, thumbnailed(P1, 3), received("job-3", "c", P2, 4)])

    rows = {
        r["photo_id"]: r
        for r in await pool.fetch(
            "SELECT photo_id, tags, titles, owners, renditions, metadata FROM photos"
        )
    }
    assert rows[P1]["tags"] == sorted(["x,y", "back\\slash", "é", "NULL"])
    assert rows[P1]["titles"] == ['a "title", {braced}', "plain"]
    assert rows[P1]["owners"] == ["alice", "bob"]
    assert set(rows[P1]["renditions"]) == {"preview", "thumb"}
    assert rows[P1]["metadata"]["width"] == 800
    assert rows[P2]["renditions"] == {} and rows[P2]["metadata"] is None
    assert rows[P2]["tags"] == sorted(received("job-3", "c", P2, 4).options.tags)
