"""The read side of the job view: jobs, photos, and the seed-compatible summaries.

Statuses come from the columns `photobus_status.store` derived when it wrote;
thumbnails and per-destination details are rendered from the stored documents.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg
from photobus_common.events import ImageMetadata
from pydantic import BaseModel

from photobus_status.job_doc import (
    DestinationDoc,
    ItemDoc,
    JobDoc,
    RenditionDoc,
    destination_doc,
    job_doc,
    thumbnails,
)
from photobus_status.progress import photo_destinations
from photobus_status.view_models import JobView, PhotoView

__all__ = ["DestinationDoc", "ItemDoc", "JobDoc", "RenditionDoc"]  # their home is job_doc


class InvalidCursorError(ValueError):
    """The pagination cursor was not one this service handed out."""


class PhotoDoc(BaseModel):
    photo_id: str
    created: datetime
    state: str
    content_type: str | None
    width: int | None
    height: int | None
    size: int | None
    thumbnail_state: str
    thumbnail_reason: str | None
    thumbnails: dict[str, RenditionDoc]
    metadata: ImageMetadata | None
    tags: list[str]
    titles: list[str]
    destinations: dict[str, DestinationDoc]
    jobs: list[str]


class PhotoPage(BaseModel):
    photos: list[PhotoDoc]
    next_cursor: str | None


async def get_job(pool: asyncpg.Pool, job_id: str, *, owner: str | None = None) -> JobDoc | None:
    """The job as its owner sees it; None when missing or owned by someone else."""
    found = await job_body(pool, job_id)
    if found is None or (owner is not None and found.owner != owner):
        return None
    return JobDoc.model_validate_json(found.body)


class JobBody(NamedTuple):
    body: str  # the JSON `GET /v1/jobs/{id}` answers: the same for whoever may see it
    owner: str | None
    version: int | None  # the transaction that wrote it (None for rows from before)


async def job_body(pool: asyncpg.Pool, job_id: str) -> JobBody | None:
    """The job's JSON, owner and version; None when missing."""
    row = await pool.fetchrow("SELECT body, owner, version FROM jobs WHERE job_id = $1", job_id)
    if row is None:
        return None
    if row["body"] is not None:
        return JobBody(row["body"], row["owner"], row["version"])
    doc = await _render(pool, job_id)  # a row written before bodies were kept
    return None if doc is None else JobBody(doc.model_dump_json(), row["owner"], None)


async def _render(pool: asyncpg.Pool, job_id: str) -> JobDoc | None:
    row = await pool.fetchrow(
        """
        SELECT j.status, j.finished_at, j.doc::text AS doc,
               ARRAY(SELECT i.item_id FROM items i WHERE i.job_id = j.job_id) AS item_ids,
               ARRAY(SELECT i.state FROM items i WHERE i.job_id = j.job_id) AS states,
               ARRAY(SELECT i.reason FROM items i WHERE i.job_id = j.job_id) AS reasons,
               ARRAY(SELECT p.doc::text FROM photos p WHERE p.photo_id IN
                     (SELECT i.photo_id FROM items i WHERE i.job_id = j.job_id)) AS photos
        FROM jobs j WHERE j.job_id = $1
        """,
        job_id,
    )
    if row is None:
        return None
    photos = {p.photo_id: p for p in map(PhotoView.model_validate_json, row["photos"])}
    states = zip(row["item_ids"], zip(row["states"], row["reasons"], strict=True), strict=True)
    job = JobView.model_validate_json(row["doc"])
    return job_doc(job, row["status"], row["finished_at"], dict(states), photos)


def _photo_doc(row: asyncpg.Record, owner: str | None) -> PhotoDoc:
    photo = PhotoView.model_validate(row["doc"])
    original = photo.original
    refs = [r for r in photo.refs.values() if owner is None or r.owner == owner]
    # Another owner's upload of the same bytes keeps its own titles and tags.
    tags = list(row["tags"]) if owner is None else sorted({t for r in refs for t in r.options.tags})
    titles = (
        list(row["titles"])
        if owner is None
        else sorted({r.options.title for r in refs if r.options.title})
    )
    return PhotoDoc(
        photo_id=photo.photo_id,
        created=photo.first_seen,
        state=row["state"],
        content_type=original.content_type if original else None,
        width=original.width if original else None,
        height=original.height if original else None,
        size=original.size if original else None,
        thumbnail_state=row["thumbnail_state"],
        thumbnail_reason=row["thumbnail_reason"],
        thumbnails=thumbnails(photo),
        metadata=photo.thumbnail.metadata,
        tags=tags,
        titles=titles,
        destinations={d: destination_doc(v) for d, v in photo_destinations(photo).items()},
        jobs=sorted({r.job_id for r in refs}),
    )


async def rendition(
    pool: asyncpg.Pool, photo_id: str, name: str, *, owner: str | None
) -> RenditionDoc | None:
    """Where a photo's rendition is stored and in what format, if `owner` may see it.

    The format is whatever the thumbnailer chose when it made the rendition (a JPEG
    preview, a WebP thumb; older photos may differ), so it is read from the view.
    """
    found = await pool.fetchval(
        "SELECT doc->'thumbnail'->'renditions'->$2 FROM photos"
        " WHERE photo_id = $1 AND ($3::text IS NULL OR owners @> ARRAY[$3::text])",
        photo_id,
        name,
        owner,
    )
    return None if found is None else RenditionDoc.model_validate(found)


async def get_photo(pool: asyncpg.Pool, photo_id: str, *, owner: str | None) -> PhotoDoc | None:
    row = await pool.fetchrow("SELECT * FROM photos WHERE photo_id = $1", photo_id)
    if row is None or (owner is not None and owner not in row["owners"]):
        return None
    return _photo_doc(row, owner)


def encode_cursor(created: datetime, photo_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created.isoformat()}|{photo_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, photo_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), photo_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursorError("the cursor is not valid; start again without one") from exc


async def list_photos(
    pool: asyncpg.Pool,
    *,
    owner: str | None = None,
    tag: str | None = None,
    destination: str | None = None,
    state: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> PhotoPage:
    """Photos newest first. `state` filters the destination's state when one is given,
    else the photo's overall state. Raises InvalidCursorError for a forged cursor."""
    after_created, after_id = decode_cursor(cursor) if cursor else (None, None)
    rows = await pool.fetch(
        """
        SELECT * FROM photos p
        WHERE ($1::text IS NULL OR p.owners @> ARRAY[$1::text])
          AND ($2::text IS NULL OR CASE WHEN $1::text IS NULL
                THEN p.tags @> ARRAY[$2::text]
                -- Only the caller's own uploads of the photo: others' tags are theirs.
                ELSE EXISTS (SELECT 1 FROM jsonb_each(p.doc -> 'refs') r
                             WHERE r.value ->> 'owner' = $1
                               AND r.value -> 'options' -> 'tags' ? $2::text) END)
          AND ($3::text IS NULL OR EXISTS (
                SELECT 1 FROM deliveries d
                WHERE d.photo_id = p.photo_id AND d.destination = $3
                  AND ($4::text IS NULL OR d.state = $4)))
          AND ($4::text IS NULL OR $3::text IS NOT NULL OR p.state = $4)
          AND ($5::timestamptz IS NULL OR (p.created_at, p.photo_id) < ($5, $6::text))
        ORDER BY p.created_at DESC, p.photo_id DESC
        LIMIT $7
        """,
        owner,
        tag,
        destination,
        state,
        after_created,
        after_id,
        limit + 1,
    )
    page = [_photo_doc(r, owner) for r in rows[:limit]]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1].created, page[-1].photo_id) if more and page else None
    return PhotoPage(photos=page, next_cursor=next_cursor)


_SEED_STATUS = {"accepted": "pending"}
_SEED_BUCKET = {"completed": "completed", "partial": "completed", "failed": "failed"}


async def seed_job_summary(
    pool: asyncpg.Pool, job_id: str, *, owner: str | None = None
) -> dict[str, Any] | None:
    """The seed's `GET /v1/images/uploaded/{id}` shape. A completed item is listed by
    its Imgur link when it has one (as the seed did), otherwise by its source."""
    job = await get_job(pool, job_id, owner=owner)
    if job is None:
        return None
    uploaded: dict[str, list[str]] = {"pending": [], "completed": [], "failed": []}
    for item in job.items:
        bucket = _SEED_BUCKET.get(item.state, "pending")
        source = item.url or item.filename or item.item_id
        imgur = item.destinations.get("imgur")
        link = imgur.url if imgur and imgur.state == "published" else None
        uploaded[bucket].append(link if bucket == "completed" and link else source)
    return {
        "id": job.job_id,
        "status": _SEED_STATUS.get(job.status, job.status),
        "created": job.created.isoformat(),
        "finished": job.finished.isoformat() if job.finished else None,
        "uploaded": uploaded,
    }


async def imgur_links(pool: asyncpg.Pool, owner: str | None) -> list[str]:
    """Every published Imgur link, newest publish first (the seed's `GET /v1/images`)."""
    rows = await pool.fetch(
        """
        SELECT d.url FROM deliveries d JOIN photos p USING (photo_id)
        WHERE d.destination = 'imgur' AND d.state = 'published' AND d.url IS NOT NULL
          AND ($1::text IS NULL OR p.owners @> ARRAY[$1::text])
        ORDER BY d.updated_at DESC NULLS LAST, d.photo_id
        """,
        owner,
    )
    return [r["url"] for r in rows]
