"""The whole RabbitMQ topology of photobus, in one place.

- one durable topic exchange `<ns>.events`; the routing key is the event type;
- one durable quorum queue per consumer, `<ns>.<service>`, bound to what it consumes,
  with a delivery limit (a message that keeps killing its consumer is dead-lettered);
- retry tiers `<queue>.retry.<delay>`: quorum queues with a queue-level TTL that
  dead-letter back to the main queue (one queue per delay, because per-message TTLs
  would block behind longer ones);
- `<queue>.dlq`, where poison ends; status reads every `.dlq` into the job view.

Every service declares every queue at start (idempotently), so a published event
always finds the queues of every consumer even before that consumer first runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from pamqp.common import FieldTable

from photobus_common.events import DESTINATIONS, Destination, Event

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 60.0, 300.0)


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer's queue: what it is bound to and how failures are retried."""

    service: str
    routing_keys: tuple[str, ...]
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    delivery_limit: int = 5
    prefetch: int = 16
    extra_arguments: FieldTable = field(default_factory=dict)

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.retry_delays)


def exchange_name(ns: str) -> str:
    return f"{ns}.events"


def queue_name(ns: str, service: str) -> str:
    return f"{ns}.{service}"


def dlq_name(ns: str, service: str) -> str:
    return f"{queue_name(ns, service)}.dlq"


def retry_queue_name(ns: str, service: str, delay: float) -> str:
    label = f"{delay:g}".replace(".", "_")
    return f"{queue_name(ns, service)}.retry.{label}s"


def routing_key(event: Event) -> str:
    """The event type, narrowed by destination for commands aimed at one publisher."""
    if event.type == "publish.requested":
        return f"publish.requested.{event.destination}"
    return event.type


# The consumers of a deployment. Publishers are added per destination.
THUMBNAILER = ConsumerSpec(
    "thumbnailer", ("photo.received", "thumbnail.requested"), prefetch=4, delivery_limit=3
)
INGEST_FETCH = ConsumerSpec("ingest-fetch", ("fetch.requested",), prefetch=8)
STATUS = ConsumerSpec("status", ("#",), prefetch=256, retry_delays=(1.0, 5.0, 30.0))


def publisher_spec(
    destination: Destination, retry_delays: tuple[float, ...] | None = None
) -> ConsumerSpec:
    return ConsumerSpec(
        f"publisher-{destination}",
        ("photo.received", f"publish.requested.{destination}"),
        retry_delays=retry_delays or (5.0, 30.0, 120.0, 600.0, 1800.0),
        prefetch=4,
    )


def deployment_specs(publishers: Iterable[Destination] = DESTINATIONS) -> list[ConsumerSpec]:
    return [INGEST_FETCH, THUMBNAILER, STATUS, *(publisher_spec(d) for d in publishers)]


_QUORUM: FieldTable = {"x-queue-type": "quorum"}


async def declare_exchange(channel: AbstractChannel, ns: str) -> AbstractExchange:
    return await channel.declare_exchange(
        exchange_name(ns), aio_pika.ExchangeType.TOPIC, durable=True
    )


async def declare_consumer(channel: AbstractChannel, ns: str, spec: ConsumerSpec) -> AbstractQueue:
    """Declare one consumer's main, retry and dead-letter queues; return the main queue."""
    exchange = await declare_exchange(channel, ns)
    main = queue_name(ns, spec.service)
    await channel.declare_queue(dlq_name(ns, spec.service), durable=True, arguments=_QUORUM)
    queue = await channel.declare_queue(
        main,
        durable=True,
        arguments={
            **_QUORUM,
            "x-delivery-limit": spec.delivery_limit,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dlq_name(ns, spec.service),
            **spec.extra_arguments,
        },
    )
    for key in spec.routing_keys:
        await queue.bind(exchange, key)
    for delay in spec.retry_delays:
        await channel.declare_queue(
            retry_queue_name(ns, spec.service, delay),
            durable=True,
            arguments={
                **_QUORUM,
                "x-message-ttl": int(delay * 1000),
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": main,
                # At-least-once dead-lettering: a retry is never lost between queues.
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
    return queue


async def declare_all(channel: AbstractChannel, ns: str, specs: Iterable[ConsumerSpec]) -> None:
    for spec in specs:
        await declare_consumer(channel, ns, spec)
