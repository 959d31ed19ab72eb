"""`GET /v1/jobs/{id}` answered from the cache of rendered jobs: never stale for longer
than a notification takes, on the replica that folds and on one that does not."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from services.status.tests.histories import accepted, photo_id, received, thumbnailed, upload
from services.status.tests.status_harness import RunningStatus, poll, running_status
from tests.support import infra

P1 = photo_id(401)


async def test_a_job_answers_with_an_etag_and_304_when_unchanged(status: RunningStatus) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)

    first = await status.client.get(f"/v1/jobs/{job}")
    etag = first.headers["ETag"]
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    again = await status.client.get(f"/v1/jobs/{job}", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag

    await status.broker.publish(received(job, "a", P1, 1))
    changed = await status.job_when(job, lambda d: d["items"][0]["photo_id"] == P1)
    response = await status.client.get(f"/v1/jobs/{job}", headers={"If-None-Match": etag})
    assert response.status == 200 and response.headers["ETag"] != etag
    assert await response.json() == changed


async def test_the_folding_replica_answers_a_commit_at_once(status: RunningStatus) -> None:
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)
    for _ in range(3):  # kept in the cache now
        assert (await status.client.get(f"/v1/jobs/{job}")).status == 200
    folded = await _count(status, job)

    await status.broker.publish(received(job, "a", P1, 1))
    await poll(lambda: _more(status, job, folded), timeout=15)
    committed = time.monotonic()
    # The folder drops the job from its cache as soon as its commit returns.
    doc = await status.job_when(job, lambda d: d["items"][0]["photo_id"] == P1, timeout=5)
    assert time.monotonic() - committed < 0.5
    assert doc["items"][0]["photo_id"] == P1


@asynccontextmanager
async def job_and_replica(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[tuple[str, RunningStatus]]:
    """A job the folding `status` has, and a second replica (not folding) that has cached it."""
    job = f"job-{uuid.uuid4().hex}"
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await status.job_when(job, lambda d: True)
    async with running_status(
        amqp_url=amqp_url,
        namespace=status.settings.namespace,
        dsn=database.dsn,
        blob_dir=tmp_path / "replica-blobs",
        publishers=status.settings.publishers,
        consume=False,
    ) as replica:
        await replica.job_when(job, lambda d: True)
        for _ in range(3):
            assert (await replica.client.get(f"/v1/jobs/{job}")).status == 200
        yield job, replica


async def test_another_replica_answers_a_commit_within_a_notifications_delay(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase, tmp_path: Path
) -> None:
    async with job_and_replica(status, amqp_url, database, tmp_path) as (job, replica):
        folded = await _count(status, job)

        await status.broker.publish(received(job, "a", P1, 1))
        await poll(lambda: _more(status, job, folded), timeout=15)
        committed = time.monotonic()
        doc = await replica.job_when(job, lambda d: d["items"][0]["photo_id"] == P1, timeout=5)
        # Well within the cache's trust window: the notification, not the window, did it.
        assert time.monotonic() - committed < 1.0
        assert doc["items"][0]["photo_id"] == P1


async def test_a_replica_whose_listener_was_cut_serves_no_stale_job(
    status: RunningStatus, amqp_url: str, database: infra.TestDatabase, tmp_path: Path
) -> None:
    async with job_and_replica(status, amqp_url, database, tmp_path) as (job, replica):
        admin = await asyncpg.connect(database.dsn)
        try:  # every connection of the view's database, the replica's listener among them
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        await status.broker.publish(received(job, "a", P1, 1), thumbnailed(P1, 2))
        await status.job_when(job, lambda d: d["items"][0]["thumbnails"] != {}, timeout=30)
        doc = await replica.job_when(job, lambda d: d["items"][0]["thumbnails"] != {}, timeout=5)
        assert doc["items"][0]["photo_id"] == P1


async def _count(status: RunningStatus, job: str) -> int:
    conn = await asyncpg.connect(status.settings.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM processed_events WHERE job_id = $1", job
        )
        return count
    finally:
        await conn.close()


async def _more(status: RunningStatus, job: str, than: int) -> bool | None:
    return True if await _count(status, job) > than else None


async def test_the_folding_replica_answers_from_memory_what_it_just_wrote(
    status: RunningStatus,
) -> None:
    job = f"job-{uuid.uuid4().hex}"
    folded = await _count(status, job)
    await status.broker.publish(accepted(job, [upload("a")], 0))
    await poll(lambda: _more(status, job, folded), timeout=15)
    loads = await _reads(status, "miss") + await _reads(status, "untrusted")

    doc = await status.job(job)  # never read before: the body came with the commit

    assert doc is not None and doc["job_id"] == job
    assert await _reads(status, "miss") + await _reads(status, "untrusted") == loads


async def _reads(status: RunningStatus, outcome: str) -> float:
    text = await (await status.client.get("/metrics")).text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "photobus_status_job_cache_reads_total"
                and sample.labels["outcome"] == outcome
            ):
                return sample.value
    return 0.0
