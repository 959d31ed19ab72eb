"""The status service in-process against the live RabbitMQ and Postgres, for API tests.

`running_status` starts `create_app` on a TestServer with its own namespace, database
and blob directory, plus a broker the test publishes through; it deletes the
namespace's queues afterwards.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
from aiohttp.test_utils import TestClient, TestServer
from photobus_common.blobs import LocalBlobStore
from photobus_common.broker import Broker
from photobus_common.events import Destination
from photobus_common.topology import deployment_specs
from photobus_status.app import create_app
from photobus_status.config import StatusSettings

from tests.support.cleanup import delete_namespace

T = TypeVar("T")


@dataclass
class RunningStatus:
    client: TestClient[Any, Any]
    broker: Broker
    blobs: LocalBlobStore
    settings: StatusSettings

    async def job(self, job_id: str, *, retry_later: bool = False) -> dict[str, Any] | None:
        """The job, or None while it is not there (404) or, with `retry_later`, while
        the service asks to be asked again (503 + Retry-After), as a poller would."""
        response = await self.client.get(f"/v1/jobs/{job_id}")
        if response.status == 404 or (retry_later and response.status == 503):
            return None
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def job_when(
        self, job_id: str, ready: Callable[[dict[str, Any]], bool], timeout: float = 15.0
    ) -> dict[str, Any]:
        """Poll `GET /v1/jobs/{id}` until `ready(doc)`; fail with the last doc seen."""
        last: dict[str, Any] | None = None

        async def check() -> dict[str, Any] | None:
            nonlocal last
            doc = await self.job(job_id, retry_later=True)
            last = doc if doc is not None else last
            return doc if doc is not None and ready(doc) else None

        try:
            return await poll(check, timeout)
        except TimeoutError:
            raise AssertionError(f"job {job_id} never got there; last seen: {last}") from None


async def poll(check: Callable[[], Awaitable[T | None]], timeout: float = 15.0) -> T:
    async with asyncio.timeout(timeout):
        while (value := await check()) is None:
            await asyncio.sleep(0.05)
        return value


@asynccontextmanager
async def running_status(
    *,
    amqp_url: str,
    namespace: str,
    dsn: str,
    blob_dir: Path,
    publishers: tuple[Destination, ...] = (),
    consume: bool = True,
    api_keys: str | None = None,
) -> AsyncIterator[RunningStatus]:
    settings = StatusSettings(
        amqp_url=amqp_url,
        database_url=dsn,
        namespace=namespace,
        blob_url=f"file://{blob_dir}",
        publishers=publishers,
        publish_timeout=5,
        api_keys=api_keys,
    )
    blobs = LocalBlobStore(blob_dir)
    client = TestClient(TestServer(create_app(settings, blobs=blobs, consume=consume)))
    await client.start_server()
    test_broker = Broker(
        url=amqp_url,
        namespace=namespace,
        producer="test",
        publish_timeout=5,
        topology=deployment_specs(publishers),
    )
    try:
        await test_broker.connect()
        yield RunningStatus(client=client, broker=test_broker, blobs=blobs, settings=settings)
    finally:
        await test_broker.close()
        await client.close()
        await delete_namespace(amqp_url, namespace)


async def queue_depth(amqp_url: str, queue: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


def sse_events(lines: list[str]) -> list[tuple[str, Any]]:
    """Parse the `event:`/`data:` pairs of a Server-Sent Events transcript."""
    events: list[tuple[str, Any]] = []
    name, data = "message", []
    for line in lines:
        if line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].strip())
        elif not line.strip() and data:
            events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
    return events
