"""`GET /v1/jobs/{job_id}` and its live progress, `GET /v1/jobs/{job_id}/events` (SSE)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response
from photobus_common.service import PG_POOL

from photobus_status import queries
from photobus_status.errors import DATABASE_DOWN
from photobus_status.jobcache import Rendered
from photobus_status.live import Subscription
from photobus_status.routes import (
    CHANGES,
    JOB_CACHE,
    not_found,
    owner_of,
)

TERMINAL: frozenset[str] = frozenset({"completed", "partial", "failed"})
PING_SECONDS = 15.0
# How often a stream notices a client that went away, and re-reads the job anyway
# (a safety net should a notification ever be missed).
DISCONNECT_CHECK_SECONDS = 1.0
RECHECK_SECONDS = 15.0
JOB_APPEARS_WITHIN = 5.0

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


async def job_json(request: web.Request, job_id: str) -> dict[str, Any] | None:
    found = await queries.job_body(request.app[PG_POOL], job_id)
    owner = owner_of(request)
    if found is None or (owner is not None and found.owner != owner):
        return None
    body: dict[str, Any] = json.loads(found.body)
    return body


@routes.get("/v1/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    """The job: its items, each one's photo, thumbnails and per-destination state.

    With an ETag: `If-None-Match` answers 304 while the job is unchanged.
    """
    # Answered from memory until the job changes (photobus_status.jobcache).
    job_id = request.match_info["job_id"]
    pool = request.app[PG_POOL]
    found = await request.app[JOB_CACHE].get(job_id, lambda: _load(pool, job_id))
    owner = owner_of(request)
    if found is None or (owner is not None and found.owner != owner):
        return not_found("job")
    headers = {"ETag": found.etag}
    if found.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=found.body, content_type="application/json", charset="utf-8", headers=headers
    )


async def _load(pool: asyncpg.Pool, job_id: str) -> Rendered | None:
    found = await queries.job_body(pool, job_id)
    if found is None:
        return None
    return Rendered.of(found.owner, found.body.encode(), found.version)


@routes.get("/v1/jobs/{job_id}/events")
async def job_events(request: web.Request) -> web.StreamResponse:
    """`event: job` now and on every change; `event: end` once the job is terminal."""
    job_id = request.match_info["job_id"]
    # Subscribe before the first read, so a change between the two is not missed.
    with request.app[CHANGES].subscribe(job_id) as changes:
        body = await _first_sight(request, job_id, changes)
        if body is None:
            return not_found("job")
        async with sse_response(request, ping_interval=PING_SECONDS) as stream:
            sent = None
            read_at = time.monotonic()
            while body is not None:
                text = json.dumps(body, separators=(",", ":"))
                if text != sent:
                    await stream.send(text, event="job")
                    sent = text
                if body["status"] in TERMINAL:
                    await stream.send(json.dumps({"status": body["status"]}), event="end")
                    break
                changed = await changes.wait(DISCONNECT_CHECK_SECONDS)
                if _gone(request, stream):
                    break
                if changed or time.monotonic() - read_at >= RECHECK_SECONDS:
                    try:
                        body = await job_json(request, job_id)
                    except DATABASE_DOWN as e:
                        # End the stream; the client's EventSource reconnects and resumes.
                        log.warning("job stream %s ends: database unavailable: %r", job_id, e)
                        break
                    read_at = time.monotonic()
        return stream


async def _first_sight(
    request: web.Request, job_id: str, changes: Subscription
) -> dict[str, Any] | None:
    """The job, waiting a moment for it: a client may open the stream as soon as ingest
    answered, before this service has folded `job.accepted`."""
    deadline = time.monotonic() + JOB_APPEARS_WITHIN
    while (body := await job_json(request, job_id)) is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        await changes.wait(min(remaining, DISCONNECT_CHECK_SECONDS))
    return body


def _gone(request: web.Request, stream: EventSourceResponse) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing() or not stream.is_connected()
