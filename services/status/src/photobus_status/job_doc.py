"""What `GET /v1/jobs/{job_id}` answers, built from the view's models.

`photobus_status.writes` renders it whenever it writes a job and keeps the JSON in the
job's row (`jobs.body`), so a read is one row and no rendering. `photobus_status.queries`
renders it on read only for rows written before that column existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from photobus_common.events import ImageMetadata, ItemOptions
from pydantic import BaseModel

from photobus_status.progress import Delivery, is_duplicate, item_destinations
from photobus_status.progress import requested_destinations as requested_of
from photobus_status.view_models import JobView, PhotoView, scope_of


class DestinationDoc(BaseModel):
    state: str
    url: str | None = None
    remote_id: str | None = None
    duplicate: bool = False
    reason: str | None = None
    retry_at: datetime | None = None
    attempt: int | None = None


class RenditionDoc(BaseModel):
    key: str
    width: int
    height: int
    format: str
    url: str | None = None  # where this API serves it


class ItemDoc(BaseModel):
    item_id: str
    source: Literal["upload", "url"] | None
    filename: str | None
    url: str | None
    photo_id: str | None
    state: str
    reason: str | None
    duplicate: bool
    thumbnails: dict[str, RenditionDoc]
    metadata: ImageMetadata | None
    destinations: dict[str, DestinationDoc]


class JobDoc(BaseModel):
    job_id: str
    status: str
    created: datetime
    finished: datetime | None
    options: ItemOptions | None
    items: list[ItemDoc]


ItemStates = Mapping[str, tuple[str, str | None]]
"""item_id -> (state, reason), as `photobus_status.progress.item_state` derived them."""


def rendition_url(photo_id: str, name: str) -> str:
    return f"/v1/photos/{photo_id}/renditions/{name}"


def destination_doc(d: Delivery) -> DestinationDoc:
    return DestinationDoc.model_construct(
        state=d.state,
        url=d.url,
        remote_id=d.remote_id,
        duplicate=d.duplicate,
        reason=d.reason,
        retry_at=d.retry_at,
        attempt=d.attempt,
    )


def thumbnails(photo: PhotoView | None) -> dict[str, RenditionDoc]:
    if photo is None:
        return {}
    return {
        name: RenditionDoc.model_construct(
            key=r.key,
            width=r.width,
            height=r.height,
            format=r.format,
            url=rendition_url(photo.photo_id, name),
        )
        for name, r in photo.thumbnail.renditions.items()
    }


def job_doc(
    job: JobView,
    status: str,
    finished: datetime | None,
    states: ItemStates,
    photos: Mapping[str, PhotoView],
    destinations: Mapping[str, Mapping[str, Delivery]] | None = None,
) -> JobDoc:
    """The job, its items in the order they were declared. Built from validated models,
    so nothing is validated again (this runs for every job every batch touches).
    `destinations`: each item's `item_destinations`, when they are known already."""
    ordered = sorted(
        job.items.values(), key=lambda i: (i.position is None, i.position or 0, i.item_id)
    )
    items = []
    for item in ordered:
        photo = photos.get(item.photo_id or "")
        scope = scope_of(job.job_id, item.item_id)
        if destinations is not None:
            delivered = destinations[item.item_id]
        else:
            delivered = item_destinations(photo, scope, requested_of(item, job))
        state, reason = states.get(item.item_id, ("pending", None))
        items.append(
            ItemDoc.model_construct(
                item_id=item.item_id,
                source=item.source,
                filename=item.filename,
                url=item.url,
                photo_id=item.photo_id,
                state=state,
                reason=reason,
                duplicate=is_duplicate(photo, scope) if photo else False,
                thumbnails=thumbnails(photo),
                metadata=photo.thumbnail.metadata if photo else None,
                destinations={d: destination_doc(v) for d, v in delivered.items()},
            )
        )
    return JobDoc.model_construct(
        job_id=job.job_id,
        status=status,
        created=job.created,
        finished=finished,
        options=job.options,
        items=items,
    )
