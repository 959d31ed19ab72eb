"""Live progress: `GET /v1/jobs/{id}/events` streams the job until it is terminal."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import ClientResponse

from services.status.tests.histories import (
    accepted,
    photo_id,
    published,
    received,
    skipped,
    thumbnailed,
    upload,
)
from services.status.tests.status_harness import RunningStatus, running_status, sse_events
from tests.support import infra

P1 = photo_id(201)


async def read_until(response: ClientResponse, last_event: str, timeout: float = 15) -> list[str]:
    """The stream's lines up to the blank line that ends the `last_event` event."""
    lines: list[str] = []
    async with asyncio.timeout(timeout):
        while True:
            raw = await response.content.readline()
            if not raw:
                return lines
            line = raw.decode().rstrip("\r\n")
            lines.append(line)
            if not line and any(f"event: {last_event}" == x for x in lines[-3:]):
                return lines


async def test_the_stream_follows_the_job_until_it_ends(status: RunningStatus) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)

    async with status.client.get(f"/v1/jobs/{job}/events") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        first = sse_events(await read_until(response, "job"))
        assert [(name, doc["status"]) for name, doc in first] == [("job", "accepted")]

        await status.broker.publish(received(job, "a", P1, 1))
        await status.broker.publish(thumbnailed(P1, 2))
        await status.broker.publish(
            published(job, "a", P1, "imgur", 3), skipped(job, "a", P1, "flickr", 4)
        )
        rest = sse_events(await read_until(response, "end"))

    names = [name for name, _ in rest]
    assert names[-1] == "end"
    assert set(names[:-1]) == {"job"}
    docs: list[dict[str, Any]] = [doc for name, doc in rest if name == "job"]
    assert docs[-1]["status"] == "completed"
    assert docs[-1]["items"][0]["destinations"]["imgur"]["state"] == "published"
    # Each `job` event is a change: never the same document twice in a row.
    assert all(a != b for a, b in zip([first[0][1], *docs], docs, strict=False))
    assert rest[-1][1] == {"status": "completed"}


async def test_a_stream_opened_before_the_job_is_folded_waits_for_it(
    status: RunningStatus,
) -> None:
    from photobus_status.routes import CHANGES

    job = f"job-{uuid.uuid4().hex}"
    changes = status.client.app[CHANGES]
    opening = asyncio.create_task(status.client.get(f"/v1/jobs/{job}/events"))
    async with asyncio.timeout(10):
        while not changes.watched:  # the stream is open and waiting for the job
            await asyncio.sleep(0.02)

    await status.broker.publish(accepted(job, [upload("a")], 0))

    async with await opening as response:
        assert response.status == 200
        events = sse_events(await read_until(response, "job"))
    assert [(name, doc["job_id"]) for name, doc in events] == [("job", job)]


async def test_a_finished_job_streams_once_and_ends(status: RunningStatus) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(
        accepted(job, [upload("a")], 0),
        received(job, "a", P1, 1),
        thumbnailed(P1, 2),
        published(job, "a", P1, "imgur", 3),
        published(job, "a", P1, "flickr", 4),
    )
    await status.job_when(job, lambda d: d["status"] == "completed")

    async with status.client.get(f"/v1/jobs/{job}/events") as response:
        events = sse_events(await read_until(response, "end"))
        assert await response.content.read() == b""  # the server closed the stream

    assert [name for name, _ in events] == ["job", "end"]


async def test_a_replica_that_does_not_consume_still_streams_live(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase, tmp_path: Path
) -> None:
    """Each replica folds only what it consumes: streams learn of changes via NOTIFY."""
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)

    async with (
        running_status(
            amqp_url=amqp_url,
            namespace=status.settings.namespace,
            dsn=database.dsn,
            blob_dir=tmp_path / "replica-blobs",
            publishers=status.settings.publishers,
            consume=False,
        ) as replica,
        replica.client.get(f"/v1/jobs/{job}/events") as response,
    ):
        await read_until(response, "job")
        await status.broker.publish(
            received(job, "a", P1, 1),
            thumbnailed(P1, 2),
            published(job, "a", P1, "imgur", 3),
            published(job, "a", P1, "flickr", 4),
        )
        events = sse_events(await read_until(response, "end"))

    assert events[-1] == ("end", {"status": "completed"})


async def test_streams_resume_after_the_listen_connection_is_killed(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase, tmp_path: Path
) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)

    async with (
        running_status(
            amqp_url=amqp_url,
            namespace=status.settings.namespace,
            dsn=database.dsn,
            blob_dir=tmp_path / "replica-blobs",
            publishers=status.settings.publishers,
            consume=False,
        ) as replica,
        replica.client.get(f"/v1/jobs/{job}/events") as response,
    ):
        await read_until(response, "job")
        admin = await asyncpg.connect(database.dsn)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        await status.broker.publish(
            received(job, "a", P1, 1),
            thumbnailed(P1, 2),
            published(job, "a", P1, "imgur", 3),
            published(job, "a", P1, "flickr", 4),
        )
        events = sse_events(await read_until(response, "end", timeout=10))

    assert events[-1] == ("end", {"status": "completed"})


async def test_a_client_that_leaves_is_unsubscribed(status: RunningStatus) -> None:
    from photobus_status.routes import CHANGES

    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)
    changes = status.client.app[CHANGES]

    async with status.client.get(f"/v1/jobs/{job}/events") as response:
        await read_until(response, "job")
        assert changes.watched == 1
        response.close()

    async with asyncio.timeout(10):
        while changes.watched:
            await asyncio.sleep(0.05)
    assert changes.watched == 0
