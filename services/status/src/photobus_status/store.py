"""Applies events to the Postgres job view, idempotently, a batch per transaction.

A batch is deduplicated on `event_id` (within itself and against
`processed_events`); the new events are folded with `photobus_status.view` into
the stored documents of the jobs and photos they touch, and the derived columns
(status, item and delivery rows) are rewritten from those documents. Writers are
serialised by one advisory lock, so a batch always sees the previous one whole.
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
from asyncpg.pool import PoolConnectionProxy
from photobus_common.events import Event, MessageDeadLettered

from photobus_status.job_doc import job_doc
from photobus_status.jobcache import JobCache, Rendered
from photobus_status.live import announce
from photobus_status.progress import (
    item_destinations,
    item_state,
    photo_destinations,
    photo_state,
    requested_destinations,
    status_of,
    thumbnail_state,
)
from photobus_status.view import fold
from photobus_status.view_models import JobView, PhotoView, StatusView, scope_of

Connection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one borrowed from a pool."""

_APPLY_LOCK = 0x7374617475730001  # "status" + 1: every status writer takes it

Bodies = dict[str, tuple[str | None, str]]
"""job_id -> (owner, the JSON `GET /v1/jobs/{id}` answers)"""


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
        await _write_photos(conn, changed_photos, self._required)
        return await _write_jobs(conn, jobs.values(), photos, self._required)


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


async def _write_photos(conn: Connection, photos: Sequence[PhotoView], required: bool) -> None:
    photo_rows, delivery_rows = [], []
    for photo in photos:
        deliveries = photo_destinations(photo)
        state, _ = photo_state(photo, required, deliveries)
        thumb, thumb_reason = thumbnail_state(photo)
        refs = photo.refs.values()
        photo_rows.append(
            (
                photo.photo_id,
                photo.first_seen,
                state,
                thumb,
                thumb_reason,
                {k: r.model_dump(mode="json") for k, r in photo.thumbnail.renditions.items()},
                photo.thumbnail.metadata.model_dump(mode="json")
                if photo.thumbnail.metadata
                else None,
                sorted({t for r in refs for t in r.options.tags}),
                sorted({r.options.title for r in refs if r.options.title}),
                sorted({r.owner for r in refs if r.owner}),
                photo.model_dump_json(),
            )
        )
        for dest, d in deliveries.items():
            delivery_rows.append(
                (photo.photo_id, dest, d.state, d.url, d.remote_id, d.duplicate, d.reason,
                 d.retry_at, d.attempt, d.updated_at)
            )  # fmt: skip
    await conn.executemany(
        """
        INSERT INTO photos (photo_id, created_at, state, thumbnail_state, thumbnail_reason,
                            renditions, metadata, tags, titles, owners, doc)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::text::jsonb)
        ON CONFLICT (photo_id) DO UPDATE SET
            created_at = EXCLUDED.created_at, state = EXCLUDED.state,
            thumbnail_state = EXCLUDED.thumbnail_state,
            thumbnail_reason = EXCLUDED.thumbnail_reason, renditions = EXCLUDED.renditions,
            metadata = EXCLUDED.metadata, tags = EXCLUDED.tags, titles = EXCLUDED.titles,
            owners = EXCLUDED.owners, doc = EXCLUDED.doc, updated_at = now()
        """,
        photo_rows,
    )
    await conn.executemany(
        """
        INSERT INTO deliveries (photo_id, destination, state, url, remote_id, duplicate, reason,
                                retry_at, attempt, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (photo_id, destination) DO UPDATE SET
            state = EXCLUDED.state, url = EXCLUDED.url, remote_id = EXCLUDED.remote_id,
            duplicate = EXCLUDED.duplicate, reason = EXCLUDED.reason,
            retry_at = EXCLUDED.retry_at, attempt = EXCLUDED.attempt,
            updated_at = EXCLUDED.updated_at
        """,
        delivery_rows,
    )


async def _write_jobs(
    conn: Connection,
    jobs: Iterable[JobView],
    photos: dict[str, PhotoView],
    required: bool,
) -> Bodies:
    """Write the jobs, their items and their bodies; returns each job's owner and body."""
    bodies: Bodies = {}
    job_rows, item_rows = [], []
    for job in jobs:
        states, destinations = {}, {}
        for key, item in job.items.items():
            # Derived once, for the item's state and for its body alike.
            photo = photos.get(item.photo_id or "")
            scope = scope_of(job.job_id, key)
            destinations[key] = item_destinations(photo, scope, requested_destinations(item, job))
            states[key] = item_state(job, item, photo, required, destinations[key])
        status, finished = status_of(job, list(states.values()))
        body = job_doc(
            job,
            status,
            finished,
            {k: (s.state, s.reason) for k, s in states.items()},
            photos,
            destinations,
        ).model_dump_json()
        bodies[job.job_id] = (job.owner, body)
        job_rows.append(
            (job.job_id, job.owner, status, job.created, finished, job.model_dump_json(), body)
        )
        for item in job.items.values():
            state = states[item.item_id]
            item_rows.append(
                (job.job_id, item.item_id, item.photo_id, item.source, item.filename, item.url,
                 state.state, state.reason)
            )  # fmt: skip
    await conn.executemany(
        """
        INSERT INTO jobs (job_id, owner, status, created_at, finished_at, doc, body, version)
        VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, txid_current())
        ON CONFLICT (job_id) DO UPDATE SET
            owner = EXCLUDED.owner, status = EXCLUDED.status, created_at = EXCLUDED.created_at,
            finished_at = EXCLUDED.finished_at, doc = EXCLUDED.doc, body = EXCLUDED.body,
            version = EXCLUDED.version, updated_at = now()
        """,
        job_rows,
    )
    await conn.executemany(
        """
        INSERT INTO items (job_id, item_id, photo_id, source, filename, url, state, reason)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (job_id, item_id) DO UPDATE SET
            photo_id = EXCLUDED.photo_id, source = EXCLUDED.source,
            filename = EXCLUDED.filename, url = EXCLUDED.url, state = EXCLUDED.state,
            reason = EXCLUDED.reason
        """,
        item_rows,
    )
    return bodies
