"""Remove a test namespace's queues and exchange from the shared RabbitMQ afterwards.

Quorum queues cost the broker memory each; tests would otherwise leave hundreds behind.
"""

from __future__ import annotations

import aio_pika
from photobus_common.events import DESTINATIONS
from photobus_common.topology import (
    deployment_specs,
    dlq_name,
    exchange_name,
    publisher_spec,
    queue_name,
    retry_queue_name,
)


def namespace_queues(ns: str) -> list[str]:
    names: list[str] = []
    specs = [
        *deployment_specs(DESTINATIONS),
        *(publisher_spec(d, (1.0, 2.0, 4.0)) for d in DESTINATIONS),
    ]
    for spec in specs:
        names += [queue_name(ns, spec.service), dlq_name(ns, spec.service)]
        names += [retry_queue_name(ns, spec.service, d) for d in spec.retry_delays]
    return sorted(set(names))


async def delete_namespace(amqp_url: str, ns: str, extra_queues: list[str] | None = None) -> None:
    try:
        connection = await aio_pika.connect(amqp_url, timeout=5)
    except Exception:
        return
    async with connection:
        channel = await connection.channel()
        for name in [*namespace_queues(ns), *(extra_queues or [])]:
            await channel.queue_delete(name)
        await channel.exchange_delete(exchange_name(ns))
