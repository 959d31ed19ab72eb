"""Look at and disturb the suite's own RabbitMQ node: queue depths and consumers, and
`rabbitmqctl close_all_connections` (connection-level chaos without a restart)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aio_pika
from aio_pika.exceptions import ChannelClosed

from tests.support.rabbit_node import BIN, RabbitNode


@dataclass(frozen=True)
class QueueState:
    name: str
    messages: int  # ready + unacknowledged
    consumers: int


async def rabbitmqctl(node: RabbitNode, *args: str, timeout: float = 60.0) -> str:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "rabbitmqctl"),
        "-n",
        node.nodename,
        *args,
        env=node._env(),  # the node's own name, cookie and ports
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed ({process.returncode}): {text}")
    return text


async def close_all_connections(
    node: RabbitNode, reason: str = "chaos", *, timeout: float = 60.0
) -> None:
    await rabbitmqctl(node, "close_all_connections", reason, timeout=timeout)


async def list_queues(node: RabbitNode, namespace: str) -> list[QueueState]:
    """Every queue of the namespace (main, retry tiers and .dlq), as the node sees it."""
    out = await rabbitmqctl(
        node, "list_queues", "-q", "--no-table-headers", "name", "messages", "consumers"
    )
    states: list[QueueState] = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(f"{namespace}.") and parts[1].isdigit():
            states.append(QueueState(parts[0], int(parts[1]), int(parts[2])))
    return sorted(states, key=lambda q: q.name)


async def passive_queue_states(amqp_url: str, names: list[str]) -> dict[str, QueueState | None]:
    """Passive declares (no side effects): None for a queue that does not exist or
    cannot be read now (e.g. a quorum queue that has no leader yet)."""
    states: dict[str, QueueState | None] = {}
    connection = await aio_pika.connect(amqp_url, timeout=5)
    async with connection:
        for name in names:
            channel = await connection.channel()
            try:
                queue = await channel.declare_queue(name, passive=True)
            except ChannelClosed:
                states[name] = None
                continue
            result = queue.declaration_result
            states[name] = QueueState(name, result.message_count or 0, result.consumer_count or 0)
            await channel.close()
    return states
