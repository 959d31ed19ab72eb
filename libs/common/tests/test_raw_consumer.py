"""The batch consumer's raw subscription against the live RabbitMQ: it comes back after
a dropped connection, a channel error and a deleted queue, and stops when cancelled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustChannel, AbstractRobustQueue
from aiormq.abc import DeliveredMessage
from photobus_common import raw_consumer
from photobus_common.broker import Broker
from photobus_common.events import Event, ThumbnailRequested
from photobus_common.raw_consumer import RawConsumer
from photobus_common.topology import ConsumerSpec, queue_name

from tests.support.cleanup import delete_namespace
from tests.support.tcp_proxy import TcpProxy, tcp_proxy

SPEC = ConsumerSpec("rawworker", ("thumbnail.requested",), retry_delays=(0.2,), prefetch=16)


def _event(photo: str) -> ThumbnailRequested:
    return ThumbnailRequested(producer="test", photo_id=photo, job_id="job-1")


async def _until(predicate: object, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


@pytest.fixture
async def proxy(amqp_url: str) -> AsyncIterator[TcpProxy]:
    url = urlsplit(amqp_url)
    async with tcp_proxy(url.hostname or "127.0.0.1", url.port or 5672) as p:
        yield p


def _through(amqp_url: str, proxy: TcpProxy) -> str:
    url = urlsplit(amqp_url)
    return url._replace(netloc=f"{url.username}:{url.password}@127.0.0.1:{proxy.port}").geturl()


async def _queue_state(amqp_url: str, name: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue."""
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        ch = await conn.channel()
        q = await ch.declare_queue(name, passive=True)
        ok = q.declaration_result
        return ok.message_count or 0, ok.consumer_count or 0


@pytest.fixture
async def spec_namespace(amqp_url: str, namespace: str) -> AsyncIterator[str]:
    """`namespace`, and SPEC's queues removed with it: it is no deployment consumer."""
    yield namespace
    await delete_namespace(amqp_url, namespace, [SPEC])


async def test_batches_are_consumed_again_after_the_connection_drops(
    amqp_url: str, spec_namespace: str, proxy: TcpProxy
) -> None:
    namespace = spec_namespace
    seen: list[str] = []

    async def handler(events: Sequence[Event]) -> list[Exception | None]:
        seen.extend(e.photo_id for e in events if isinstance(e, ThumbnailRequested))
        return [None] * len(events)

    consumer = Broker(
        url=_through(amqp_url, proxy), namespace=namespace, producer="test", topology=[SPEC]
    )
    publisher = Broker(url=amqp_url, namespace=namespace, producer="test", topology=[SPEC])
    await consumer.connect()
    await publisher.connect()
    try:
        await consumer.consume_batches(SPEC, handler, max_size=4, max_wait=0.01)
        await publisher.publish(*(_event(f"a{n}") for n in range(10)))
        await _until(lambda: len(set(seen)) == 10)

        proxy.drop_all()
        await publisher.publish(*(_event(f"b{n}") for n in range(10)))
        await _until(lambda: len(set(seen)) == 20)
        assert proxy.accepted >= 2  # it did reconnect
        await _until(lambda: not consumer._in_flight.count)
    finally:
        await consumer.close()
        await publisher.close()
    assert set(seen) == {f"{p}{n}" for p in "ab" for n in range(10)}
    assert await _queue_state(amqp_url, queue_name(namespace, SPEC.service)) == (0, 0)


class Inbox:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, message: DeliveredMessage) -> None:
        self.bodies.append(message.body)
        await message.channel.basic_ack(message.delivery_tag or 0)


async def _publish(amqp_url: str, queue: str, body: bytes) -> None:
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        ch = await conn.channel()
        await ch.default_exchange.publish(aio_pika.Message(body), queue)


async def _delete(amqp_url: str, queue: str) -> None:
    conn = await aio_pika.connect(amqp_url)
    async with conn:
        await (await conn.channel()).queue_delete(queue)


@contextlib.asynccontextmanager
async def _consuming(
    amqp_url: str, namespace: str
) -> AsyncIterator[tuple[AbstractRobustChannel, AbstractRobustQueue, RawConsumer, Inbox]]:
    """A started RawConsumer on a queue of its own, into an Inbox; all of it removed after."""
    conn = await aio_pika.connect_robust(amqp_url, reconnect_interval=0.1)
    channel = await conn.channel()
    assert isinstance(channel, AbstractRobustChannel)
    queue = await channel.declare_queue(f"{namespace}.raw", durable=True)
    assert isinstance(queue, AbstractRobustQueue)
    inbox = Inbox()
    consumer = RawConsumer(channel, queue, inbox)
    try:
        await consumer.start()
        yield channel, queue, consumer, inbox
    finally:
        await consumer.cancel()
        await conn.close()
        await _delete(amqp_url, queue.name)


async def test_a_channel_closed_by_the_broker_is_reopened_and_consumed_again(
    amqp_url: str, namespace: str
) -> None:
    async with _consuming(amqp_url, namespace) as (channel, queue, consumer, inbox):
        broken = await channel.get_underlay_channel()
        # An ack of a tag never delivered: RabbitMQ closes the channel (PRECONDITION_FAILED).
        await broken.basic_ack(4242)
        await _until(lambda: broken.is_closed)
        await _until(lambda: consumer.consuming)
        assert await channel.get_underlay_channel() is not broken

        await _publish(amqp_url, queue.name, b"after")
        await _until(lambda: inbox.bodies == [b"after"])


async def test_a_deleted_queue_is_declared_again_and_consumed(
    amqp_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(raw_consumer, "RESUBSCRIBE_DELAY", 0.05)
    async with _consuming(amqp_url, namespace) as (_, queue, consumer, inbox):
        await _delete(amqp_url, queue.name)  # RabbitMQ cancels the consumer
        await _until(lambda: not consumer.consuming)
        await _until(lambda: consumer.consuming)

        await _publish(amqp_url, queue.name, b"again")
        await _until(lambda: inbox.bodies == [b"again"])


async def test_a_cancelled_consumer_gets_nothing_more(amqp_url: str, namespace: str) -> None:
    async with _consuming(amqp_url, namespace) as (_, queue, consumer, inbox):
        await _publish(amqp_url, queue.name, b"one")
        await _until(lambda: inbox.bodies == [b"one"])

        await consumer.cancel()
        await _publish(amqp_url, queue.name, b"two")
        assert await _queue_state(amqp_url, queue.name) == (1, 0)
        assert inbox.bodies == [b"one"]
