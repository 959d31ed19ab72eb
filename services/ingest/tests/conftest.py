"""Ingest test fixtures: the app in-process against the live RabbitMQ, and an event tap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from photobus_common.events import Event, parse_event
from photobus_common.topology import deployment_specs, dlq_name, queue_name, retry_queue_name
from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings
from photobus_ingest.routes.context import INGEST

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"


class EventTap:
    """Every event published on a namespace's exchange, as the status service would see it."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self.events.append(parse_event(message.body))
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[list[Event]], bool], timeout: float = 10.0
    ) -> list[Event]:
        async with asyncio.timeout(timeout):
            while not predicate(self.events):
                self._changed.clear()
                await self._changed.wait()
        return self.events

    def of_job(self, job_id: str) -> list[Event]:
        return [e for e in self.events if e.job_id == job_id]


@pytest.fixture
async def tap(amqp_url: str, namespace: str) -> AsyncIterator[EventTap]:
    tap = EventTap()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, "#")
        await queue.consume(tap.on_message, no_ack=True)
        yield tap
        await _delete_topology(channel, namespace)


async def _delete_topology(channel: aio_pika.abc.AbstractChannel, namespace: str) -> None:
    for spec in deployment_specs(()):
        await channel.queue_delete(queue_name(namespace, spec.service))
        await channel.queue_delete(dlq_name(namespace, spec.service))
        for delay in spec.retry_delays:
            await channel.queue_delete(retry_queue_name(namespace, spec.service, delay))
    await channel.exchange_delete(f"{namespace}.events")


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    return tmp_path / "blobs"


@pytest.fixture
def settings(amqp_url: str, namespace: str, blob_dir: Path) -> IngestSettings:
    return IngestSettings(
        amqp_url=amqp_url,
        namespace=namespace,
        blob_url=f"file://{blob_dir}",
        publish_timeout=5.0,
    )


async def start_client(
    app: web.Application, *, connected: bool = True
) -> TestClient[web.Request, web.Application]:
    client = TestClient(TestServer(app))
    await client.start_server()
    if connected:
        async with asyncio.timeout(10):
            while not app[INGEST].broker_connected:
                await asyncio.sleep(0.02)
    return client


@pytest.fixture
async def client(
    settings: IngestSettings, tap: EventTap
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    client = await start_client(create_app(settings))
    yield client
    await client.close()


BOUNDARY = "photobus-test-boundary-7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def part_head(name: str, filename: str | None = None) -> bytes:
    """The boundary and headers of one form part, written by hand so any filename goes."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def raw_multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b"".join(part_head(name, filename) + data + b"\r\n" for name, filename, data in parts)
    return body + f"--{BOUNDARY}--\r\n".encode()
