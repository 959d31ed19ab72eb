"""Dead letters: every `.dlq` is read into the job view, and no DLQ keeps a message."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import pytest
from photobus_common.broker import REASON_HEADER
from photobus_common.events import PublishRequested, dump_event
from photobus_common.topology import dlq_name, exchange_name
from photobus_status.deadletters import dead_letter_event

from services.status.tests.histories import accepted, photo_id, published, received, upload
from services.status.tests.status_harness import (
    RunningStatus,
    poll,
    queue_depth,
    running_status,
)
from tests.support import infra

P1 = photo_id(401)


@dataclass
class Letter:
    body: bytes
    message_id: str | None = None
    type: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)


def test_a_dead_letter_names_what_its_body_says() -> None:
    original = received("job-1", "a", P1, 1)
    letter = Letter(
        dump_event(original),
        message_id=str(original.event_id),
        type=original.type,
        headers={REASON_HEADER: "retries exhausted: boom"},
    )

    event = dead_letter_event("ns.thumbnailer", letter)

    assert (event.job_id, event.item_id, event.photo_id) == ("job-1", "a", P1)
    assert event.original_event_id == str(original.event_id)
    assert event.original_type == "photo.received"
    assert event.queue == "ns.thumbnailer"
    assert event.reason == "retries exhausted: boom"
    # The same dead letter, read twice, is one event.
    assert dead_letter_event("ns.thumbnailer", letter).event_id == event.event_id
    assert dead_letter_event("ns.publisher-imgur", letter).event_id != event.event_id


def test_a_dead_letter_reason_falls_back_to_rabbitmq_then_unknown() -> None:
    death = {"x-death": [{"reason": b"delivery_limit", "queue": "ns.thumbnailer", "count": 1}]}

    assert dead_letter_event("q", Letter(b"{}", headers=death)).reason == "delivery_limit"
    assert dead_letter_event("q", Letter(b"{}")).reason == "unknown"


def test_a_body_that_is_no_event_keeps_what_it_can() -> None:
    loose = b'{"type": "photo.received", "job_id": "job-9", "destination": "myspace"}'

    event = dead_letter_event("q", Letter(loose))
    garbage = dead_letter_event("q", Letter(b"\xff not json"))

    assert (event.job_id, event.original_type, event.destination) == (
        "job-9",
        "photo.received",
        None,
    )
    assert garbage.job_id is None
    assert garbage.event_id == dead_letter_event("q", Letter(b"\xff not json")).event_id


def test_a_nul_character_in_a_dead_letter_is_kept_as_the_replacement_character() -> None:
    # Postgres takes no NUL in text: folding the dead letter would fail for ever.
    loose = b'{"type": "photo.received\\u0000", "job_id": "job\\u0000x"}'
    headers = {REASON_HEADER: "boom\x00"}

    event = dead_letter_event("q", Letter(loose, message_id="m\x00", headers=headers))

    assert (event.job_id, event.original_type, event.reason) == (
        "job\ufffdx",
        "photo.received\ufffd",
        "boom\ufffd",
    )
    assert event.original_event_id == "m\ufffd"


# -- through the real broker --------------------------------------------------------


@pytest.fixture
async def status(
    amqp_url: str, namespace: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[RunningStatus]:
    async with running_status(
        amqp_url=amqp_url,
        namespace=namespace,
        dsn=database.dsn,
        blob_dir=tmp_path / "blobs",
        publishers=("imgur", "flickr"),
    ) as running:
        yield running


async def dead_letters(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch("SELECT * FROM dead_letters ORDER BY occurred_at")
    finally:
        await conn.close()


async def test_garbage_on_the_status_queue_is_recorded_and_leaves_no_dead_letter(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase
) -> None:
    namespace = status.settings.namespace
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(exchange_name(namespace))
        # Only status's `#` binding takes this key, so no other queue keeps a copy.
        await exchange.publish(
            aio_pika.Message(b"this is not an event", message_id="garbage-1"), "garbage.test"
        )

    async def recorded() -> list[asyncpg.Record] | None:
        return await dead_letters(database.dsn) or None

    rows = await poll(recorded)
    assert [r["queue"] for r in rows] == [f"{namespace}.status"]
    assert rows[0]["reason"].startswith("invalid message")
    assert rows[0]["job_id"] is None

    async def dlq_empty() -> bool | None:
        return True if await queue_depth(amqp_url, dlq_name(namespace, "status")) == 0 else None

    await poll(dlq_empty)


async def test_a_photo_dead_lettered_by_the_thumbnailer_fails_its_item(
    status: RunningStatus, amqp_url: str
) -> None:
    job = f"job-{uuid.uuid4().hex}"
    photo = received(job, "a", P1, 1)
    await status.broker.publish(accepted(job, [upload("a"), upload("b")], 0), photo)
    await status.job_when(job, lambda d: d["items"][0]["photo_id"] == P1)

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(
                dump_event(photo),
                message_id=str(photo.event_id),
                headers={REASON_HEADER: "retries exhausted: decoder crashed"},
            ),
            dlq_name(status.settings.namespace, "thumbnailer"),
        )

    doc = await status.job_when(
        job, lambda d: next(i for i in d["items"] if i["item_id"] == "a")["state"] == "failed"
    )
    item = next(i for i in doc["items"] if i["item_id"] == "a")
    assert "decoder crashed" in item["reason"]
    assert next(i for i in doc["items"] if i["item_id"] == "b")["state"] == "pending"


async def dead_letter(amqp_url: str, queue: str, message: aio_pika.Message) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(message, queue)


async def test_a_publish_dead_lettered_by_its_publisher_fails_that_destination(
    status: RunningStatus, amqp_url: str
) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0), received(job, "a", P1, 1))
    await status.job_when(job, lambda d: d["items"][0]["photo_id"] == P1)
    request = PublishRequested(producer="status", job_id=job, item_id="a", photo_id=P1,
                               destination="flickr")  # fmt: skip

    await dead_letter(
        amqp_url,
        dlq_name(status.settings.namespace, "publisher-flickr"),
        aio_pika.Message(dump_event(request), message_id=str(request.event_id)),
    )

    doc = await status.job_when(
        job, lambda d: d["items"][0]["destinations"]["flickr"]["state"] == "failed"
    )
    assert "dead_lettered: unknown" in doc["items"][0]["destinations"]["flickr"]["reason"]
    assert doc["items"][0]["destinations"]["imgur"]["state"] == "pending"


async def test_an_event_status_gave_up_on_is_folded_from_its_dead_letter_queue(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase
) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0), received(job, "a", P1, 1))
    await status.job_when(job, lambda d: d["items"][0]["photo_id"] == P1)
    outcome = published(job, "a", P1, "flickr", 2)

    await dead_letter(
        amqp_url,
        dlq_name(status.settings.namespace, "status"),
        aio_pika.Message(
            dump_event(outcome),
            message_id=str(outcome.event_id),
            headers={REASON_HEADER: "retries exhausted: database unavailable"},
        ),
    )

    doc = await status.job_when(
        job, lambda d: d["items"][0]["destinations"]["flickr"]["state"] == "published"
    )
    assert doc["items"][0]["state"] != "failed"
    assert await dead_letters(database.dsn) == []
