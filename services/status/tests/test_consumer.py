"""Batch folding: one transaction per batch, acks only after the commit, redelivery harmless."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Sequence

import asyncpg
from photobus_common.broker import RetryLater
from photobus_common.events import Event
from photobus_status.consumer import BatchFolder
from prometheus_client.parser import text_string_to_metric_families

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
    thumbnailed,
    upload,
)
from services.status.tests.status_harness import RunningStatus, poll
from tests.support import infra


class RecordingSink:
    """Stands in for EventStore: records each transaction; refuses events it is told to."""

    def __init__(self, refuse: set[uuid.UUID] | None = None, *, down: bool = False) -> None:
        self.transactions: list[list[Event]] = []
        self.attempts = 0
        self.refuse = refuse or set()
        self.down = down

    async def apply(self, events: Sequence[Event]) -> list[str]:
        self.attempts += 1
        if self.down:
            raise ConnectionRefusedError("Postgres is not answering")
        if any(e.event_id in self.refuse for e in events):
            raise ValueError("the view refused this event")
        self.transactions.append(list(events))
        return sorted({e.job_id for e in events if e.job_id})


def some_events(n: int) -> list[Event]:
    return [rejected(f"job-{i}", "a", i) for i in range(n)]


async def test_a_batch_commits_in_one_transaction_then_is_announced() -> None:
    sink = RecordingSink()
    announced: list[list[str]] = []

    async def on_commit(job_ids: list[str]) -> None:
        announced.append(job_ids)

    folder = BatchFolder(sink, on_commit=on_commit)
    events = some_events(10)

    assert await folder.fold(events) == [None] * 10

    assert sink.transactions == [events]
    assert announced == [sorted(f"job-{i}" for i in range(10))]


async def test_a_redelivered_copy_in_the_same_batch_is_applied_once() -> None:
    sink = RecordingSink()
    event = some_events(1)[0]

    assert await BatchFolder(sink).fold([event, event]) == [None, None]

    assert sink.transactions == [[event]]


async def test_a_database_outage_retries_every_event_of_the_batch_at_once() -> None:
    sink = RecordingSink(down=True)

    outcomes = await BatchFolder(sink).fold(some_events(3))

    assert all(isinstance(o, RetryLater) for o in outcomes)
    assert sink.attempts == 1  # not once more per event: they would all fail alike


async def test_one_refused_event_does_not_hold_back_the_others() -> None:
    events = some_events(4)
    sink = RecordingSink(refuse={events[2].event_id})

    outcomes = await BatchFolder(sink).fold(events)

    assert [isinstance(o, RetryLater) for o in outcomes] == [False, False, True, False]
    assert outcomes[:2] == [None, None] and outcomes[3] is None
    assert sink.transactions == [[events[0]], [events[1]], [events[3]]]


async def test_a_hung_database_gives_the_messages_back_for_retry() -> None:
    class HungSink:
        async def apply(self, events: Sequence[Event]) -> list[str]:
            await asyncio.Event().wait()
            return []

    folder = BatchFolder(HungSink(), commit_timeout=0.1)

    outcomes = await folder.fold(some_events(1))

    assert isinstance(outcomes[0], RetryLater)


# -- through the real broker --------------------------------------------------------


def history(job: str) -> list[Event]:
    p1, p2 = photo_id(301), photo_id(302)
    return [
        accepted(job, [upload("a"), upload("b"), upload("c")], 0),
        rejected(job, "a", 1),
        received(job, "b", p1, 2),
        received(job, "c", p2, 3),
        thumbnailed(p1, 4),
        thumbnailed(p2, 5),
        retrying(job, "b", p1, "imgur", 6, attempt=1),
        published(job, "b", p1, "imgur", 7),
        skipped(job, "b", p1, "flickr", 7),
        failed(job, "c", p2, "imgur", 8),
        republish(p2, "imgur", 9),
        published(None, None, p2, "imgur", 10),
        published(job, "c", p2, "flickr", 11),
    ]


async def metric(status: RunningStatus, name: str, **labels: str) -> float:
    text = await (await status.client.get("/metrics")).text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def acked(status: RunningStatus) -> int:
    queue = f"{status.settings.namespace}.status"
    return int(await metric(status, "photobus_messages_total", queue=queue, outcome="acked"))


async def all_acked(status: RunningStatus, count: int) -> None:
    async def check() -> bool | None:
        return True if await acked(status) >= count else None

    await poll(check, timeout=20)


async def test_redelivering_every_event_twice_in_any_order_changes_nothing(
    status: RunningStatus,
) -> None:
    job = f"job-{uuid.uuid4().hex}"
    events = history(job)
    await status.broker.publish(*events)
    await all_acked(status, len(events))
    before = await status.job(job)
    assert before is not None and before["status"] == "partial"

    again = [e for e in events for _ in range(2)]
    random.Random(7).shuffle(again)
    transactions = await metric(status, "photobus_status_batch_events_count")
    await status.broker.publish(*again)
    await all_acked(status, 3 * len(events))

    assert await status.job(job) == before
    # Delivered together, they were folded in fewer transactions than messages.
    assert await metric(status, "photobus_status_batch_events_count") - transactions < len(again)


async def test_connections_dropped_mid_stream_lose_no_event(
    status: RunningStatus, database: infra.TestDatabase
) -> None:
    """Every server connection of the status database is killed while events arrive."""
    job = f"job-{uuid.uuid4().hex}"
    events = history(job)
    admin = await asyncpg.connect(database.dsn)
    try:
        for event in events:
            await status.broker.publish(event)
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    finally:
        await admin.close()

    # Retried events arrive after their tier's delay: wait for the final state of every item.
    final = ["failed", "completed", "completed"]
    doc = await status.job_when(job, lambda d: [i["state"] for i in d["items"]] == final, 60)

    assert doc["status"] == "partial"
    assert doc["items"][2]["destinations"]["imgur"]["state"] == "published"
