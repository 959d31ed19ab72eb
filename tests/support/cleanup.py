"""Remove a test namespace's queues and exchange from the shared RabbitMQ afterwards.

Quorum queues cost the broker memory each; tests would otherwise leave hundreds behind.
"""

from __future__ import annotations

from collections.abc import Iterable

import aio_pika
from photobus_common.events import DESTINATIONS
from photobus_common.topology import (
    ConsumerSpec,
    deployment_specs,
    dlq_name,
    exchange_name,
    publisher_spec,
    queue_name,
    retry_queue_name,
)


def spec_queues(ns: str, spec: ConsumerSpec) -> list[str]:
    """Every queue `spec` declares: its own, its dead letters and one per retry tier."""
    names = [queue_name(ns, spec.service), dlq_name(ns, spec.service)]
    return names + [retry_queue_name(ns, spec.service, d) for d in spec.retry_delays]


def namespace_queues(ns: str, specs: Iterable[ConsumerSpec] = ()) -> list[str]:
    """The deployment's queues, and those of `specs`: consumers a test declared with
    other names or retry tiers (each tier is a queue of its own)."""
    every = [
        *deployment_specs(DESTINATIONS),
        *(publisher_spec(d, (1.0, 2.0, 4.0)) for d in DESTINATIONS),
        *specs,
    ]
    return sorted({name for spec in every for name in spec_queues(ns, spec)})


async def delete_namespace(amqp_url: str, ns: str, specs: Iterable[ConsumerSpec] = ()) -> None:
    try:
        connection = await aio_pika.connect(amqp_url, timeout=5)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        for name in namespace_queues(ns, specs):
            await channel.queue_delete(name)
        await channel.exchange_delete(exchange_name(ns))
