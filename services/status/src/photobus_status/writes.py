"""Writes a batch's photos and jobs: their documents and the rows derived from them.

Each table is written with one statement per batch (`unnest` over columns): executemany
ran one statement per row, each a round of Postgres's executor. A job's `GET
/v1/jobs/{id}` body is rendered here, from the same derived states as its rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from photobus_common.events import RenditionInfo
from pydantic import TypeAdapter

from photobus_status.job_doc import job_doc
from photobus_status.progress import (
    item_destinations,
    item_state,
    photo_destinations,
    photo_state,
    requested_destinations,
    status_of,
    thumbnail_state,
)
from photobus_status.view_models import JobView, PhotoView, scope_of

Connection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one borrowed from a pool."""

Bodies = dict[str, tuple[str | None, str]]
"""job_id -> (owner, the JSON `GET /v1/jobs/{id}` answers)"""

_RENDITIONS = TypeAdapter(dict[str, RenditionInfo])


async def write_photos(conn: Connection, photos: Sequence[PhotoView], required: bool) -> None:
    photo_rows, delivery_rows = [], []
    for photo in photos:
        deliveries = photo_destinations(photo)
        state, _ = photo_state(photo, required, deliveries)
        thumb, thumb_reason = thumbnail_state(photo)
        refs = photo.refs.values()
        metadata = photo.thumbnail.metadata
        photo_rows.append(
            (
                photo.photo_id,
                photo.first_seen,
                state,
                thumb,
                thumb_reason,
                _RENDITIONS.dump_json(photo.thumbnail.renditions).decode(),
                metadata.model_dump_json() if metadata else None,
                json.dumps(sorted({t for r in refs for t in r.options.tags})),
                json.dumps(sorted({r.options.title for r in refs if r.options.title})),
                json.dumps(sorted({r.owner for r in refs if r.owner})),
                photo.model_dump_json(),
            )
        )
        for dest, d in deliveries.items():
            delivery_rows.append(
                (photo.photo_id, dest, d.state, d.url, d.remote_id, d.duplicate, d.reason,
                 d.retry_at, d.attempt, d.updated_at)
            )  # fmt: skip
    # Text arrays travel as JSON (unnest would flatten an array of arrays).
    await conn.execute(
        """
        INSERT INTO photos (photo_id, created_at, state, thumbnail_state, thumbnail_reason,
                            renditions, metadata, tags, titles, owners, doc)
        SELECT id, created, state, thumb, reason, renditions::jsonb, metadata::jsonb,
               ARRAY(SELECT jsonb_array_elements_text(tags::jsonb)),
               ARRAY(SELECT jsonb_array_elements_text(titles::jsonb)),
               ARRAY(SELECT jsonb_array_elements_text(owners::jsonb)), doc::jsonb
        FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
             AS u(id, created, state, thumb, reason, renditions, metadata, tags, titles,
                  owners, doc)
        ON CONFLICT (photo_id) DO UPDATE SET
            created_at = EXCLUDED.created_at, state = EXCLUDED.state,
            thumbnail_state = EXCLUDED.thumbnail_state,
            thumbnail_reason = EXCLUDED.thumbnail_reason, renditions = EXCLUDED.renditions,
            metadata = EXCLUDED.metadata, tags = EXCLUDED.tags, titles = EXCLUDED.titles,
            owners = EXCLUDED.owners, doc = EXCLUDED.doc, updated_at = now()
        """,
        *_columns(photo_rows, 11),
    )
    await conn.execute(
        """
        INSERT INTO deliveries (photo_id, destination, state, url, remote_id, duplicate, reason,
                                retry_at, attempt, updated_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::bool[], $7::text[], $8::timestamptz[], $9::int[],
                             $10::timestamptz[])
        ON CONFLICT (photo_id, destination) DO UPDATE SET
            state = EXCLUDED.state, url = EXCLUDED.url, remote_id = EXCLUDED.remote_id,
            duplicate = EXCLUDED.duplicate, reason = EXCLUDED.reason,
            retry_at = EXCLUDED.retry_at, attempt = EXCLUDED.attempt,
            updated_at = EXCLUDED.updated_at
        """,
        *_columns(delivery_rows, 10),
    )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as columns, the arguments of one `unnest`."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


async def write_jobs(
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
    await conn.execute(
        """
        INSERT INTO jobs (job_id, owner, status, created_at, finished_at, doc, body, version)
        SELECT id, owner, status, created, finished, doc::jsonb, body, txid_current()
        FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
                    $6::text[], $7::text[]) AS u(id, owner, status, created, finished, doc, body)
        ON CONFLICT (job_id) DO UPDATE SET
            owner = EXCLUDED.owner, status = EXCLUDED.status, created_at = EXCLUDED.created_at,
            finished_at = EXCLUDED.finished_at, doc = EXCLUDED.doc, body = EXCLUDED.body,
            version = EXCLUDED.version, updated_at = now()
        """,
        *_columns(job_rows, 7),
    )
    await conn.execute(
        """
        INSERT INTO items (job_id, item_id, photo_id, source, filename, url, state, reason)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                             $6::text[], $7::text[], $8::text[])
        ON CONFLICT (job_id, item_id) DO UPDATE SET
            photo_id = EXCLUDED.photo_id, source = EXCLUDED.source,
            filename = EXCLUDED.filename, url = EXCLUDED.url, state = EXCLUDED.state,
            reason = EXCLUDED.reason
        """,
        *_columns(item_rows, 8),
    )
    return bodies
