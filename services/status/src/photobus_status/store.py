"""Applies events to the Postgres job view, idempotently, a batch per transaction.

A batch is deduplicated on `event_id` (within itself and against
`processed_events`); the new events are folded with `photobus_status.view` into
the stored documents of the jobs and photos they touch, and the derived columns
(status, item and delivery rows) are rewritten from those documents
(`photobus_status.writes`). Writers are serialised by one advisory lock, so a batch
always sees the previous one whole.
Each job's `GET /v1/jobs/{id}` body is rendered as it is written (`jobs.body`, with the
writing transaction's id as `version`), and handed to this replica's cache once
committed. The jobs a batch changed are announced (`NOTIFY`) in its transaction: every
replica hears of every commit, and of nothing that was rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from photobus_common.events import Event, MessageDeadLettered

from photobus_status.jobcache import JobCache, Rendered
from photobus_status.live import announce
from photobus_status.view import fold
from photobus_status.view_models import JobView, PhotoView, StatusView
from photobus_status.writes import Bodies, Connection, write_jobs, write_photos

_APPLY_LOCK = 0x7374617475730001  # "status" + 1: every status writer takes it


async def init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb to Python values (and back) on every pooled connection."""
    for pg_type in ("json", "jsonb"):
        await conn.set_type_codec(
            pg_type, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(dsn: str, **kwargs: Any) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, init=init_connection, **kwargs)


class EventStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        terminal_destinations_required: bool,
        cache: JobCache | None = None,
    ) -> None:
        self._pool = pool
        self._required = terminal_destinations_required
        self._cache = cache  # given the bodies this store commits

    async def apply(self, events: Sequence[Event]) -> list[str]:
        """Apply a batch in one transaction; returns the ids of the jobs whose view changed."""
        batch = list({e.event_id: e for e in events}.values())  # first position wins
        if not batch:
            return []
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _APPLY_LOCK)
                fresh = await _claim(conn, batch)
                if not fresh:
                    return []
                await _record_dead_letters(conn, fresh)
                written = await self._fold_and_write(conn, fresh)
                version = await announce(conn, written)
            # Committed: the next read of these jobs is answered from memory.
            if self._cache is not None and version is not None:
                for job_id, (owner, body) in written.items():
                    self._cache.written(job_id, Rendered.of(owner, body.encode(), version))
        return sorted(written)

    async def record_dead_letter(self, event: MessageDeadLettered) -> list[str]:
        return await self.apply([event])

    async def _fold_and_write(self, conn: Connection, events: list[Event]) -> Bodies:
        job_ids = {e.job_id for e in events if e.job_id}
        photo_ids = {p for e in events if (p := getattr(e, "photo_id", None))}
        before = StatusView(
            jobs=await _load_jobs(conn, job_ids), photos=await _load_photos(conn, photo_ids)
        )
        after = fold(events, before)
        changed_photos = [p for k, p in after.photos.items() if before.photos.get(k) != p]
        # A photo's change can move every job that received it.
        affected = {k for k, j in after.jobs.items() if before.jobs.get(k) != j}
        affected |= {ref.job_id for p in changed_photos for ref in p.refs.values()}
        jobs = {**await _load_jobs(conn, affected - set(after.jobs)), **after.jobs}
        jobs = {k: jobs[k] for k in affected if k in jobs}
        needed = {i.photo_id for j in jobs.values() for i in j.items.values() if i.photo_id}
        photos = {**await _load_photos(conn, needed - set(after.photos)), **after.photos}
        await write_photos(conn, changed_photos, self._required)
        return await write_jobs(conn, jobs.values(), photos, self._required)


async def _claim(conn: Connection, batch: list[Event]) -> list[Event]:
    """Insert the batch's ids into processed_events; returns the events not seen before."""
    rows = await conn.fetch(
        """
        INSERT INTO processed_events (event_id, type, job_id, occurred_at)
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        [e.event_id for e in batch],
        [e.type for e in batch],
        [e.job_id for e in batch],
        [e.occurred_at for e in batch],
    )
    claimed = {r["event_id"] for r in rows}
    return [e for e in batch if e.event_id in claimed]


async def _record_dead_letters(conn: Connection, events: list[Event]) -> None:
    rows = [
        (e.event_id, e.queue, e.original_event_id, e.original_type, e.job_id, e.photo_id,
         e.item_id, e.destination, e.reason, e.occurred_at)
        for e in events
        if isinstance(e, MessageDeadLettered)
    ]  # fmt: skip
    if rows:
        await conn.executemany(
            """
            INSERT INTO dead_letters (event_id, queue, original_event_id, original_type, job_id,
                                      photo_id, item_id, destination, reason, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (event_id) DO NOTHING
            """,
            rows,
        )


# Documents travel as JSON text, parsed and serialised by pydantic in one step rather
# than through the pool's json codec (json.loads, then model_validate; and back).


async def _load_jobs(conn: Connection, job_ids: Iterable[str]) -> dict[str, JobView]:
    rows = await conn.fetch(
        "SELECT doc::text FROM jobs WHERE job_id = ANY($1::text[])", list(job_ids)
    )
    jobs = (JobView.model_validate_json(r[0]) for r in rows)
    return {j.job_id: j for j in jobs}


async def _load_photos(conn: Connection, photo_ids: Iterable[str]) -> dict[str, PhotoView]:
    rows = await conn.fetch(
        "SELECT doc::text FROM photos WHERE photo_id = ANY($1::text[])", list(photo_ids)
    )
    photos = (PhotoView.model_validate_json(r[0]) for r in rows)
    return {p.photo_id: p for p in photos}
