"""The chaos client: uploads every photo, a few per job, with bounded concurrency, and
retries 503s, 5xx and connection errors until a 202 (the same bytes give the same
photo_id, so a retry never makes a second photo)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.chaos.photos import Photo
from tests.support.client import form_with_files


@dataclass(frozen=True)
class AcceptedItem:
    job_id: str
    item_id: str
    photo_id: str
    filename: str


@dataclass
class UploadLog:
    accepted: list[AcceptedItem] = field(default_factory=list)
    jobs: set[str] = field(default_factory=set)
    attempts: int = 0
    retried: dict[str, int] = field(default_factory=dict)  # why an attempt was retried -> count
    failures: list[str] = field(default_factory=list)  # batches that never got a 202

    def retry(self, why: str) -> None:
        self.retried[why] = self.retried.get(why, 0) + 1


def batches(photos: list[Photo], rng: random.Random, largest: int = 3) -> list[list[Photo]]:
    out: list[list[Photo]] = []
    index = 0
    while index < len(photos):
        size = rng.randint(1, largest)
        out.append(photos[index : index + size])
        index += size
    return out


async def _post(
    http: aiohttp.ClientSession, url: str, batch: list[Photo], title: str
) -> tuple[int, dict[str, Any]]:
    form = form_with_files([(p.filename, p.data) for p in batch], title=title, tags="chaos")
    async with http.post(url, data=form) as response:
        body: dict[str, Any] = await response.json(content_type=None)
        return response.status, body


async def upload_batch(
    http: aiohttp.ClientSession,
    ingest_url: Callable[[], str],
    batch: list[Photo],
    log: UploadLog,
    *,
    deadline: float,
) -> None:
    title = f"chaos batch {batch[0].filename}"
    while time.monotonic() < deadline:
        log.attempts += 1
        try:
            status, body = await _post(http, f"{ingest_url()}/v1/jobs", batch, title)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            log.retry(type(e).__name__)
            await asyncio.sleep(0.5)  # ingest is down or restarting: back off, then retry
            continue
        if status == 202:
            log.jobs.add(body["job_id"])
            for photo, item in zip(batch, body["items"], strict=True):
                if item.get("photo_id") != photo.sha256:
                    log.failures.append(
                        f"{photo.filename}: photo_id {item.get('photo_id')} != sha256 {photo.sha256}"
                    )
                log.accepted.append(
                    AcceptedItem(body["job_id"], item["item_id"], photo.sha256, photo.filename)
                )
            return
        if status == 503 or status >= 500:
            log.retry(f"http {status}")
            await asyncio.sleep(1.0)  # Retry-After says 5; the chaos client is impatient on purpose
            continue
        log.failures.append(f"{title}: HTTP {status} {body}")
        return
    log.failures.append(f"{title}: no 202 before the deadline")


async def upload_all(
    ingest_url: Callable[[], str],
    photos: list[Photo],
    *,
    seed: int,
    concurrency: int = 4,
    spacing: float = 0.0,
    timeout: float = 900.0,
) -> UploadLog:
    """Upload every photo; `ingest_url` is asked again on each attempt. Batches start at
    least `spacing` seconds apart, so the uploads span the time the faults are injected."""
    log = UploadLog()
    rng = random.Random(seed)
    pending = batches(photos, rng)
    deadline = time.monotonic() + timeout
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def one(index: int, batch: list[Photo]) -> None:
            await asyncio.sleep(index * spacing)  # pacing the client, not waiting for a condition
            async with limit:
                await upload_batch(http, ingest_url, batch, log, deadline=deadline)

        await asyncio.gather(*(one(i, b) for i, b in enumerate(pending)))
    return log
