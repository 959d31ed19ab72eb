"""The publisher-imgur service as it runs: live RabbitMQ and Postgres, the fake Imgur.
A received photo is published once; a second job gets the same link as a duplicate;
a 429 is reported as `publish.retrying` and retried after its Retry-After."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aio_pika
import pytest
from aiohttp import web
from photobus_common.blobs import LocalBlobStore, original_key
from photobus_common.broker import Broker
from photobus_common.events import (
    Event,
    ItemOptions,
    PhotoReceived,
    PublishRetrying,
    PublishSucceeded,
    parse_event,
)
from photobus_common.publishing.app import create_publisher_app
from photobus_common.publishing.settings import PublisherSettings
from photobus_common.topology import exchange_name
from photobus_publisher_imgur.destination import ImgurDestination

from tests.fakes import FakeImgur, Fault, FaultPlan
from tests.fakes.credentials import ImgurCredentials, default_imgur
from tests.support import infra
from tests.support.cleanup import delete_namespace

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"


@dataclass
class Running:
    fake: FakeImgur
    broker: Broker
    blobs: LocalBlobStore
    events: list[Event]

    async def receive(self, path: str, *, job: str, item: str) -> PhotoReceived:
        data = (CORPUS / path).read_bytes()
        photo_id = hashlib.sha256(data).hexdigest()
        await self.blobs.put_bytes(original_key(photo_id), data, content_type="image/jpeg")
        event = PhotoReceived(
            producer="test",
            job_id=job,
            item_id=item,
            photo_id=photo_id,
            blob_key=original_key(photo_id),
            size=len(data),
            content_type="image/jpeg",
            width=1,
            height=1,
            options=ItemOptions(title="Harbour", album="Trip"),
        )
        await self.broker.publish(event)
        return event

    async def outcome(self, job: str) -> PublishSucceeded:
        async with asyncio.timeout(20):
            while True:
                for event in self.events:
                    if isinstance(event, PublishSucceeded) and event.job_id == job:
                        return event
                await asyncio.sleep(0.05)


@pytest.fixture
async def running(
    amqp_url: str, namespace: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[Running]:
    # Uploads that take longer than 2 s count as timed out (the fake can hold one longer).
    creds = ImgurCredentials()
    async with default_imgur() as fake:
        settings = PublisherSettings(
            amqp_url=amqp_url,
            namespace=namespace,
            database_url=database.dsn,
            blob_url=f"file://{tmp_path}",
            imgur_api_url=fake.url,
            imgur_client_id=creds.client_id,
            imgur_client_secret=creds.client_secret,
            imgur_refresh_token=creds.refresh_token,
            publish_retry_delays=(1.0, 2.0, 4.0),
            destination_timeout=2,
        )
        runner = web.AppRunner(create_publisher_app(settings, "imgur", ImgurDestination))
        await runner.setup()
        broker = Broker(url=amqp_url, namespace=namespace, producer="test")
        await broker.connect()
        connection = await aio_pika.connect(amqp_url)
        events: list[Event] = []
        try:
            channel = await connection.channel()
            watch = await channel.declare_queue(exclusive=True)
            await watch.bind(exchange_name(namespace), "publish.#")

            async def seen(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                events.append(parse_event(message.body))

            await watch.consume(seen, no_ack=True)
            yield Running(fake, broker, LocalBlobStore(tmp_path), events)
        finally:
            await connection.close()
            await broker.close()
            await runner.cleanup()
            await delete_namespace(amqp_url, namespace)


async def test_published_once_and_a_second_job_gets_the_link_as_duplicate(
    running: Running,
) -> None:
    await running.receive("camera/Canon_40D.jpg", job="job-1", item="item-1")
    first = await running.outcome("job-1")
    await running.receive("camera/Canon_40D.jpg", job="job-2", item="item-2")
    second = await running.outcome("job-2")

    assert len(running.fake.uploads) == 1
    assert running.fake.uploads[0].fields["title"] == "Harbour"
    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.url == first.url == running.fake.uploads[0].url


async def test_429_is_reported_as_retrying_and_retried_after_retry_after(
    running: Running,
) -> None:
    running.fake.faults = FaultPlan(queue=[Fault.status(429, retry_after="1", shape="legacy")])
    await running.receive("camera/Nikon_D70.jpg", job="job-1", item="item-1")
    succeeded = await running.outcome("job-1")

    [retrying] = [e for e in running.events if isinstance(e, PublishRetrying)]
    assert retrying.attempt == 1
    assert "429" in retrying.reason
    assert succeeded.attempt == 2
    uploads = [r for r in running.fake.requests if r.path == "/3/image"]
    assert [r.status for r in uploads] == [429, 200]
    assert uploads[1].time - uploads[0].time >= 1.0
    assert time.time() >= uploads[1].time


async def test_an_upload_that_timed_out_but_arrived_is_found_not_sent_again(
    running: Running,
) -> None:
    # The fake stores the photo, then holds its answer past the publisher's timeout.
    running.fake.faults = FaultPlan(queue=[Fault.delay(4)])
    await running.receive("camera/Pentax_K10D.jpg", job="job-1", item="item-1")
    succeeded = await running.outcome("job-1")

    assert len(running.fake.uploads) == 1
    assert succeeded.remote_id == running.fake.uploads[0].remote_id
    [retrying] = [e for e in running.events if isinstance(e, PublishRetrying)]
    assert "timed out" in retrying.reason
    listings = [r for r in running.fake.requests if r.path.startswith("/3/account/me/images")]
    assert listings  # asked Imgur before uploading again
