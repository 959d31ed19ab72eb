"""One robust RabbitMQ connection per process: confirmed publishes and typed consumers.

Publishing: publisher confirms, `mandatory=True` with returns raising, persistent
delivery and a timeout — an unconfirmed publish raises `PublishError`, never passes.

Consuming: manual acks, one handler per consumer taking a parsed `Event`. The handler's
outcome decides the message's fate:
- returns          → ack (its effects, including events it published, are durable);
- `RetryLater`     → a copy goes to the retry tier for this attempt, then ack;
- `Reject`, or a message that does not parse, or retries exhausted → `<queue>.dlq`;
- any other error  → treated as transient (retried by tier, then dead-lettered).
A consumer killed mid-message leaves it unacked: RabbitMQ redelivers it, and the
queue's delivery limit dead-letters one that keeps killing its consumer.
`consume_batches` does the same for a handler of many events at once, acking a batch
handled whole with one ack (`photobus_common.batches`); it subscribes through aiormq
directly (`photobus_common.raw_consumer`), with no aio-pika message per delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    AbstractRobustQueue,
)
from aio_pika.connection import make_url
from aio_pika.exceptions import AMQPError, DeliveryError
from aiormq.abc import DeliveredMessage
from pydantic import ValidationError

from photobus_common.batches import (
    AckCursor,
    Batcher,
    BatchHandler,
    InFlight,
    Received,
    handle_batch,
)
from photobus_common.events import Event, dump_event, parse_event
from photobus_common.logs import job_context
from photobus_common.metrics import IN_FLIGHT, MESSAGES
from photobus_common.raw_consumer import RawConsumer
from photobus_common.topology import (
    ConsumerSpec,
    declare_all,
    declare_consumer,
    declare_exchange,
    dlq_name,
    queue_name,
    retry_queue_name,
    routing_key,
)

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-photobus-attempt"
REASON_HEADER = "x-photobus-reason"


class PublishError(Exception):
    """RabbitMQ did not confirm a publish (down, timed out, or no queue took it)."""


class RetryLater(Exception):
    """Transient failure: handle this message again after a retry tier's delay."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class Reject(Exception):
    """Poison: this message can never be handled; dead-letter it with a reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """What a handler may know about the message it is handling."""

    queue: str
    attempt: int
    max_attempts: int
    redelivered: bool
    retry_delays: tuple[float, ...]

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    def retry_delay(self, at_least: float | None = None) -> float | None:
        """The delay `RetryLater(delay=at_least)` will actually wait, or None if exhausted."""
        index = _tier_index(self.retry_delays, self.attempt, at_least)
        return None if index is None else self.retry_delays[index]


def _tier_index(delays: tuple[float, ...], attempt: int, at_least: float | None) -> int | None:
    """Tiers grow with the attempt; a server's Retry-After can push to a longer tier."""
    if attempt > len(delays):
        return None
    index = attempt - 1
    if at_least is not None:
        while index < len(delays) - 1 and delays[index] < at_least:
            index += 1
    return index


def _attempt_of(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 1)
    return value if isinstance(value, int) and value > 0 else 1


def _delivery(spec: ConsumerSpec, queue: str, message: AbstractIncomingMessage) -> Delivery:
    return Delivery(
        queue=queue,
        attempt=_attempt_of(message),
        max_attempts=spec.max_attempts,
        redelivered=bool(message.redelivered),
        retry_delays=spec.retry_delays,
    )


Handler = Callable[[Event, Delivery], Awaitable[None]]


def _message(event: Event, headers: dict[str, Any] | None = None) -> aio_pika.Message:
    return aio_pika.Message(
        dump_event(event),
        message_id=str(event.event_id),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        type=event.type,
        headers=headers or {},
    )


class Broker:
    def __init__(
        self,
        *,
        url: str,
        namespace: str,
        producer: str,
        publish_timeout: float = 10.0,
        topology: Sequence[ConsumerSpec] = (),
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.producer = producer
        self.publish_timeout = publish_timeout
        self.topology = tuple(topology)
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: list[tuple[str, Callable[[], Awaitable[object]]]] = []  # name, cancel
        self._in_flight = InFlight()

    async def connect(self) -> None:
        # Made here rather than by `aio_pika.connect_robust`, which drops the connection
        # unclosed when its first attempt fails or is cancelled: cancelled, it went on
        # reconnecting in the background; failed, its __del__ later made a close()
        # coroutine that nothing ran ("coroutine ... was never awaited").
        connection = aio_pika.RobustConnection(
            make_url(self.url, reconnect_interval=1, fail_fast=True),
            client_properties={"connection_name": self.producer},
        )
        try:
            await connection.connect()
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange = await declare_exchange(self._channel, self.namespace)
        await declare_all(self._channel, self.namespace, self.topology)

    @property
    def is_ready(self) -> bool:
        c = self._connection
        return (
            c is not None
            and not c.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def stop_consuming(self, *, drain_timeout: float = 30.0) -> None:
        """Cancel every consumer and wait for in-flight handlers (SIGTERM path)."""
        for name, cancel in self._consumers:
            try:
                await cancel()
            except (AMQPError, RuntimeError, TimeoutError):
                log.warning("could not cancel consumer %s cleanly", name)
        self._consumers.clear()
        try:
            await asyncio.wait_for(self._in_flight.idle.wait(), drain_timeout)
        except TimeoutError:
            log.warning(
                "stopping with %d messages in flight; RabbitMQ will redeliver them",
                self._in_flight.count,
            )

    async def close(self, *, drain_timeout: float = 30.0) -> None:
        """Stop consuming, let in-flight handlers finish, then close the connection."""
        await self.stop_consuming(drain_timeout=drain_timeout)
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()

    # -- publishing ------------------------------------------------------------

    async def publish(self, *events: Event) -> None:
        """Publish events to the exchange and wait until RabbitMQ confirms every one."""
        if self._exchange is None:
            raise PublishError("not connected to RabbitMQ")
        exchange = self._exchange
        await self._confirm(
            [exchange.publish(_message(e), routing_key(e), mandatory=True) for e in events]
        )
        for e in events:
            MESSAGES.labels(queue="-", outcome=f"published:{e.type}").inc()

    async def _send_to_queue(self, queue: str, message: aio_pika.Message) -> None:
        if self._channel is None:
            raise PublishError("not connected to RabbitMQ")
        await self._confirm(
            [self._channel.default_exchange.publish(message, queue, mandatory=True)]
        )

    async def _confirm(self, publishes: list[Awaitable[Any]]) -> None:
        try:
            async with asyncio.timeout(self.publish_timeout):
                await asyncio.gather(*publishes)
        except TimeoutError as e:
            raise PublishError("RabbitMQ did not confirm in time") from e
        except DeliveryError as e:
            raise PublishError(f"RabbitMQ returned the message: {e}") from e
        except (AMQPError, ConnectionError, RuntimeError) as e:
            raise PublishError(f"RabbitMQ is unavailable: {e!r}") from e

    # -- consuming -------------------------------------------------------------

    async def consume(self, spec: ConsumerSpec, handler: Handler) -> None:
        """Start consuming `spec`'s queue on a channel of its own (restored on reconnect)."""
        if self._connection is None:
            raise RuntimeError("connect() first")
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=spec.prefetch)
        queue = await declare_consumer(channel, self.namespace, spec)
        in_flight = IN_FLIGHT.labels(kind=queue_name(self.namespace, spec.service))

        async def on_message(message: AbstractIncomingMessage) -> None:
            self._in_flight.add()
            in_flight.inc()
            try:
                await self._handle(spec, handler, message)
            finally:
                in_flight.dec()
                self._in_flight.done()

        self._consume_with(queue, await queue.consume(on_message, no_ack=False))

    def _consume_with(self, queue: AbstractQueue, tag: str) -> None:
        self._consumers.append((queue.name, lambda: queue.cancel(tag)))

    async def consume_batches(
        self,
        spec: ConsumerSpec,
        handler: BatchHandler,
        *,
        max_size: int = 256,
        max_wait: float = 0.005,
        prefetch: int | None = None,
    ) -> None:
        """Like `consume`, but `handler` takes the events of many messages at once, and a
        batch handled whole is acked at once (`photobus_common.batches`). A prefetch above
        `max_size` lets the next batch arrive while one is being handled."""
        if self._connection is None:
            raise RuntimeError("connect() first")
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=prefetch or spec.prefetch)
        queue = await declare_consumer(channel, self.namespace, spec)
        qname = queue_name(self.namespace, spec.service)
        in_flight = IN_FLIGHT.labels(kind=qname)
        acked = MESSAGES.labels(queue=qname, outcome="acked")
        cursor = AckCursor()

        async def settle(received: Received, error: Exception) -> None:
            # Only a failed message is made an aio-pika one (headers, nack, a copy to send).
            message = aio_pika.IncomingMessage(received.message, no_ack=False)
            await self._settle(spec, message, _delivery(spec, qname, message), error)

        async def handle(batch: list[Received]) -> None:
            try:
                acked.inc(await handle_batch(batch, handler, settle, cursor))
            finally:
                in_flight.dec(len(batch))

        batcher = Batcher(handle, max_size=max_size, max_wait=max_wait, in_flight=self._in_flight)

        async def on_message(message: DeliveredMessage) -> None:
            in_flight.inc()
            batcher.add(Received.of(message))

        if not isinstance(queue, AbstractRobustQueue):  # (it is: the connection is robust)
            raise TypeError(f"{qname} is no robust queue")
        consumer = RawConsumer(channel, queue, on_message)
        await consumer.start()
        self._consumers.append((qname, consumer.cancel))

    async def _handle(
        self, spec: ConsumerSpec, handler: Handler, message: AbstractIncomingMessage
    ) -> None:
        qname = queue_name(self.namespace, spec.service)
        delivery = _delivery(spec, qname, message)
        try:
            event = parse_event(message.body)
        except ValidationError as e:
            await self._settle(spec, message, delivery, e)
            return
        with job_context(event.job_id):
            try:
                await handler(event, delivery)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                await self._settle(spec, message, delivery, e, event.type)
            else:
                await message.ack()
                MESSAGES.labels(queue=qname, outcome="acked").inc()

    async def _settle(
        self,
        spec: ConsumerSpec,
        message: AbstractIncomingMessage,
        delivery: Delivery,
        error: Exception,
        what: str | None = None,
    ) -> None:
        """A failed message's fate: a retry tier, or the `.dlq` for poison."""
        if isinstance(error, RetryLater):
            await self._retry(spec, message, delivery, error.reason, error.delay)
        elif isinstance(error, Reject):
            await self._dead_letter(spec, message, error.reason)
        elif isinstance(error, ValidationError):  # the body is no event we know
            reason = f"invalid message: {error.error_count()} validation errors"
            await self._dead_letter(spec, message, reason)
        else:
            log.error("handler for %s failed on %s", delivery.queue, what, exc_info=error)
            await self._retry(spec, message, delivery, f"unexpected error: {error!r}", None)

    async def _retry(
        self,
        spec: ConsumerSpec,
        message: AbstractIncomingMessage,
        delivery: Delivery,
        reason: str,
        delay: float | None,
    ) -> None:
        index = _tier_index(spec.retry_delays, delivery.attempt, delay)
        if index is None:
            await self._dead_letter(spec, message, f"retries exhausted: {reason}")
            return
        target = retry_queue_name(self.namespace, spec.service, spec.retry_delays[index])
        headers = {
            **(message.headers or {}),
            ATTEMPT_HEADER: delivery.attempt + 1,
            REASON_HEADER: reason[:500],
        }
        copy = aio_pika.Message(
            message.body,
            message_id=message.message_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            type=message.type,
            headers=headers,
        )
        try:
            await self._send_to_queue(target, copy)
        except PublishError:
            # Could not park it: give it back to RabbitMQ, which will redeliver it.
            await message.nack(requeue=True)
            return
        await message.ack()
        MESSAGES.labels(queue=delivery.queue, outcome="retried").inc()

    async def _dead_letter(
        self, spec: ConsumerSpec, message: AbstractIncomingMessage, reason: str
    ) -> None:
        log.error("dead-lettering message %s from %s: %s", message.message_id, spec.service, reason)
        headers = {**(message.headers or {}), REASON_HEADER: reason[:500]}
        copy = aio_pika.Message(
            message.body,
            message_id=message.message_id,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            type=message.type,
            headers=headers,
        )
        try:
            await self._send_to_queue(dlq_name(self.namespace, spec.service), copy)
        except PublishError:
            # The queue's own dead-letter route still catches it, with a broker-given reason.
            await message.nack(requeue=False)
        else:
            await message.ack()
        MESSAGES.labels(
            queue=queue_name(self.namespace, spec.service), outcome="dead_lettered"
        ).inc()

    async def consume_raw(
        self,
        queue: str,
        handler: Callable[[AbstractIncomingMessage], Awaitable[None]],
        *,
        prefetch: int = 64,
    ) -> None:
        """Consume a queue with a handler that acks for itself (status reads the `.dlq`s)."""
        if self._connection is None:
            raise RuntimeError("connect() first")
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        q = await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})

        async def on_message(message: AbstractIncomingMessage) -> None:
            self._in_flight.add()
            try:
                await handler(message)
            finally:
                self._in_flight.done()

        self._consume_with(q, await q.consume(on_message, no_ack=False))
