"""The whole photobus (ingest, thumbnailer, status and the three publishers) as processes,
publishing to the fakes of Imgur, Flickr and Google Photos running in their own process.

Retry tiers are seconds long (`PHOTOBUS_PUBLISH_RETRY_DELAYS=1,2,3`) so a destination that
fails forever ends `failed` within a test; an `EventTap` records every event on the
exchange, to see what passed between two states of the job view.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from photobus_common.events import DESTINATIONS, Event, parse_event
from photobus_common.topology import publisher_spec

from tests.fakes.control import FakeControl
from tests.fakes.credentials import publisher_env
from tests.fakes.process import fakes_process
from tests.support import infra
from tests.support.cleanup import delete_namespace
from tests.support.stack import OUTPUT, Stack

PUBLISHERS = ("imgur", "flickr", "gphotos")
SERVICES = ["ingest", "thumbnailer", "status", *(f"publisher-{name}" for name in PUBLISHERS)]
RETRY_DELAYS = (1.0, 2.0, 3.0)
# With those tiers: their queues are removed afterwards, each tier's too.
PUBLISHER_SPECS = [publisher_spec(d, RETRY_DELAYS) for d in DESTINATIONS]
E = TypeVar("E")
# Six Python services starting at once on a busy two-core machine take their time.
START_TIMEOUT = 180.0


@dataclass
class EventTap:
    """Every event published on `<ns>.events`, in arrival order, with its arrival time."""

    events: list[tuple[float, Event]] = field(default_factory=list)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self.events.append((time.time(), parse_event(message.body)))
        await message.ack()

    def of_type(self, cls: type[E], **match: object) -> list[E]:
        """Events of one type whose fields equal `match` (e.g. `photo_id=..., destination=...`)."""
        return [
            event
            for _, event in self.events
            if isinstance(event, cls)
            and all(getattr(event, k, None) == v for k, v in match.items())
        ]


@dataclass
class PublishingStack:
    stack: Stack
    fakes: dict[str, FakeControl]  # "imgur" | "flickr" | "gphotos"
    tap: EventTap

    def url(self, service: str) -> str:
        return self.stack.url(service)


def publishing_env(
    *, amqp_url: str, database_dsn: str, namespace: str, blob_url: str, fakes: dict[str, str]
) -> dict[str, str]:
    return {
        "PHOTOBUS_AMQP_URL": amqp_url,
        "PHOTOBUS_DATABASE_URL": database_dsn,
        "PHOTOBUS_NAMESPACE": namespace,
        "PHOTOBUS_BLOB_URL": blob_url,
        "PHOTOBUS_WORKERS": "2",
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",  # logs readable while a test runs
        # Items complete only once every destination reached a final state.
        "PHOTOBUS_PUBLISHERS": ",".join(PUBLISHERS),
        "PHOTOBUS_PUBLISH_RETRY_DELAYS": ",".join(f"{d:g}" for d in RETRY_DELAYS),
        # Below the 4 attempts of the tiers, so one failing photo never opens the circuit
        # for the next test; a short cool-down in case a test does.
        "PHOTOBUS_BREAKER_THRESHOLD": "10",
        "PHOTOBUS_BREAKER_COOL_DOWN": "2",
        "PHOTOBUS_DESTINATION_TIMEOUT": "30",
        **publisher_env(fakes),
    }


@asynccontextmanager
async def publishing_stack(
    name: str, *, amqp_url: str, admin_pg_url: str
) -> AsyncIterator[PublishingStack]:
    """Fakes, six services and an event tap, with their own namespace, database and blob dir;
    all removed afterwards."""
    namespace = infra.unique("pbpub")
    db = await infra.create_database(admin_pg_url, infra.unique("photobus_pub"))
    OUTPUT.mkdir(exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f"{name}-", dir=OUTPUT)
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        async with fakes_process(OUTPUT / f"{name}-{namespace}-fakes.json") as urls:
            env = publishing_env(
                amqp_url=amqp_url,
                database_dsn=db.dsn,
                namespace=namespace,
                blob_url=f"file://{workdir}/blobs",
                fakes=urls,
            )
            stack = Stack.create(name, env, SERVICES)
            tap = EventTap()
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "#")
            await queue.consume(tap.on_message)
            try:
                await stack.start(timeout=START_TIMEOUT)
                yield PublishingStack(
                    stack, {name: FakeControl(url) for name, url in urls.items()}, tap
                )
            finally:
                stack.stop()  # before the fakes go away
    finally:
        await connection.close()
        await infra.drop_database(admin_pg_url, db.name)
        await delete_namespace(amqp_url, namespace, PUBLISHER_SPECS)
        shutil.rmtree(workdir, ignore_errors=True)


async def poll(
    check: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1
) -> None:
    """Wait until `check()` (sync or async) is truthy, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what}: not seen within {timeout}s")
