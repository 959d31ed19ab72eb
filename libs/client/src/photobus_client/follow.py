"""Following many jobs at once over their SSE streams, with a bounded number open."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from photobus_client.client import PhotobusClient
from photobus_client.errors import PhotobusError
from photobus_client.models import Job

MAX_STREAMS = 16


async def follow_jobs(
    client: PhotobusClient,
    job_ids: Sequence[str],
    on_change: Callable[[Job], None],
    *,
    streams: int = MAX_STREAMS,
) -> dict[str, Job]:
    """Each job's last document once all are terminal; `on_change` sees every update."""
    last: dict[str, Job] = {}
    limit = asyncio.Semaphore(streams)

    async def follow(job_id: str) -> None:
        async with limit:
            async for job in client.follow_job(job_id):
                last[job_id] = job
                on_change(job)

    try:
        async with asyncio.TaskGroup() as group:
            for job_id in dict.fromkeys(job_ids):
                group.create_task(follow(job_id))
    except* PhotobusError as failures:
        raise failures.exceptions[0] from None
    return last
