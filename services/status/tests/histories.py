"""Event factories and a hypothesis strategy for realistic job histories."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from photobus_common.blobs import rendition_key
from photobus_common.events import (
    Event,
    FetchRequested,
    ImageMetadata,
    ItemOptions,
    JobAccepted,
    JobItem,
    MessageDeadLettered,
    PhotoReceived,
    PhotoRejected,
    PublishFailed,
    PublishRequested,
    PublishRetrying,
    PublishSkipped,
    PublishSucceeded,
    RenditionInfo,
    ThumbnailCreated,
    ThumbnailFailed,
    ThumbnailRequested,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DESTS: tuple[Any, ...] = ("imgur", "flickr")
OPTIONS = ItemOptions(title="cat", tags=("pets", "cats"), destinations=DESTS)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def photo_id(n: int) -> str:
    return hashlib.sha256(f"photo-{n}".encode()).hexdigest()


def accepted(job: str, items: list[JobItem], t: float, owner: str = "alice") -> JobAccepted:
    return JobAccepted(
        producer="ingest", job_id=job, occurred_at=at(t), owner=owner, items=tuple(items),
        options=OPTIONS,
    )  # fmt: skip


def upload(item_id: str) -> JobItem:
    return JobItem(item_id=item_id, source="upload", filename=f"{item_id}.jpg")


def url_item(item_id: str) -> JobItem:
    return JobItem(item_id=item_id, source="url", url=f"https://example.com/{item_id}.jpg")


def fetch(job: str, item: JobItem, t: float) -> FetchRequested:
    return FetchRequested(
        producer="ingest", job_id=job, occurred_at=at(t), owner="alice", item_id=item.item_id,
        url=item.url or "", options=OPTIONS,
    )  # fmt: skip


def received(job: str, item: str, photo: str, t: float, owner: str = "alice") -> PhotoReceived:
    return PhotoReceived(
        producer="ingest", job_id=job, occurred_at=at(t), owner=owner, item_id=item,
        photo_id=photo, blob_key=f"originals/{photo}", size=1000, content_type="image/jpeg",
        width=800, height=600, filename=f"{item}.jpg", options=OPTIONS,
    )  # fmt: skip


def rejected(job: str, item: str, t: float) -> PhotoRejected:
    return PhotoRejected(
        producer="ingest", job_id=job, occurred_at=at(t), item_id=item,
        reason="not_an_image", detail="not a picture",
    )  # fmt: skip


def thumbnailed(photo: str, t: float, job: str | None = None) -> ThumbnailCreated:
    # As the thumbnailer makes them: a JPEG preview and a WebP thumb.
    renditions = tuple(
        RenditionInfo(
            name=name,
            key=rendition_key(photo, name, fmt),
            width=width,
            height=width * 3 // 4,
            format=fmt,
            bytes=100,
        )
        for name, fmt, width in (("preview", "jpeg", 800), ("thumb", "webp", 256))
    )
    return ThumbnailCreated(
        producer="thumbnailer", job_id=job, occurred_at=at(t), photo_id=photo,
        renditions=renditions, metadata=ImageMetadata(width=800, height=600),
    )  # fmt: skip


def thumb_failed(photo: str, t: float) -> ThumbnailFailed:
    return ThumbnailFailed(producer="thumbnailer", occurred_at=at(t), photo_id=photo, reason="bad")


def published(
    job: str | None, item: str | None, photo: str, dest: Any, t: float, duplicate: bool = False
) -> PublishSucceeded:
    return PublishSucceeded(
        producer=f"publisher-{dest}", job_id=job, item_id=item, photo_id=photo, destination=dest,
        occurred_at=at(t), remote_id=f"r-{photo[:6]}", url=f"https://{dest}.example/{photo[:6]}",
        duplicate=duplicate,
    )  # fmt: skip


def retrying(job: str, item: str, photo: str, dest: Any, t: float, attempt: int) -> PublishRetrying:
    return PublishRetrying(
        producer=f"publisher-{dest}", job_id=job, item_id=item, photo_id=photo, destination=dest,
        occurred_at=at(t), attempt=attempt, retry_at=at(t + 30), reason="429",
    )  # fmt: skip


def failed(job: str | None, item: str | None, photo: str, dest: Any, t: float) -> PublishFailed:
    return PublishFailed(
        producer=f"publisher-{dest}", job_id=job, item_id=item, photo_id=photo, destination=dest,
        occurred_at=at(t), attempt=1, permanent=True, reason="rejected by destination",
    )  # fmt: skip


def skipped(job: str, item: str, photo: str, dest: Any, t: float) -> PublishSkipped:
    return PublishSkipped(
        producer=f"publisher-{dest}", job_id=job, item_id=item, photo_id=photo, destination=dest,
        occurred_at=at(t), reason="not_configured",
    )  # fmt: skip


def rethumbnail(photo: str, t: float) -> ThumbnailRequested:
    return ThumbnailRequested(producer="status", photo_id=photo, occurred_at=at(t))


def dead_letter(job: str, item: str, photo: str, dest: Any, t: float) -> MessageDeadLettered:
    return MessageDeadLettered(
        producer=f"publisher-{dest}", job_id=job, item_id=item, photo_id=photo, destination=dest,
        occurred_at=at(t), queue=f"photobus.{dest}", reason="poison",
    )  # fmt: skip


def republish(photo: str, dest: Any, t: float) -> PublishRequested:
    return PublishRequested(producer="status", photo_id=photo, destination=dest, occurred_at=at(t))


_OUTCOMES = ("none", "published", "retry_then_published", "retry_then_failed", "skipped",
             "failed_then_republished", "dead_lettered")  # fmt: skip


@st.composite
def job_history(draw: st.DrawFn, job: str = "job-1", start: float = 0.0) -> list[Event]:
    """A plausible history of one job, in the order it happened."""
    count = draw(st.integers(2, 4))
    items = [draw(st.sampled_from([upload, url_item]))(f"{job}-item-{n}") for n in range(count)]
    events: list[Event] = [accepted(job, items, start)]
    t = start + 1.0
    for item in items:
        t += 1
        if item.url:
            events.append(fetch(job, item, t - 0.5))
        if draw(st.booleans()) and draw(st.booleans()):
            events.append(rejected(job, item.item_id, t))
            continue
        photo = photo_id(draw(st.integers(0, 2)))
        events.append(received(job, item.item_id, photo, t))
        events.extend(_thumbnail_outcome(draw(st.integers(0, 5)), photo, t))
        for dest in DESTS:
            t += 1
            outcome = draw(st.sampled_from(_OUTCOMES))
            events.extend(_publish_outcome(outcome, job, item, photo, dest, t))
    return events


def _thumbnail_outcome(choice: int, photo: str, t: float) -> list[Event]:
    """Mostly created; sometimes failed, or failed then re-requested and created."""
    if choice == 0:
        return [thumb_failed(photo, t + 0.5)]
    if choice == 1:
        return [
            thumb_failed(photo, t + 0.5),
            rethumbnail(photo, t + 0.6),
            thumbnailed(photo, t + 0.7),
        ]
    return [thumbnailed(photo, t + 0.5)]


def _publish_outcome(
    outcome: str, job: str, item: JobItem, photo: str, dest: Any, t: float
) -> list[Event]:
    i = item.item_id
    match outcome:
        case "published":
            return [published(job, i, photo, dest, t)]
        case "retry_then_published":
            return [retrying(job, i, photo, dest, t, 1), retrying(job, i, photo, dest, t + 0.1, 2),
                    published(job, i, photo, dest, t + 0.2)]  # fmt: skip
        case "retry_then_failed":
            return [retrying(job, i, photo, dest, t, 1), failed(job, i, photo, dest, t + 0.1)]
        case "skipped":
            return [skipped(job, i, photo, dest, t)]
        case "dead_lettered":
            return [retrying(job, i, photo, dest, t, 1), dead_letter(job, i, photo, dest, t + 0.1)]
        case "failed_then_republished":
            return [failed(job, i, photo, dest, t), republish(photo, dest, t + 0.1),
                    retrying(job, i, photo, dest, t + 0.2, 1)]  # fmt: skip
    return []


@st.composite
def jobs_history(draw: st.DrawFn) -> list[Event]:
    """Two jobs, later one sharing photos with the first (duplicates across jobs)."""
    return [*draw(job_history("job-1")), *draw(job_history("job-2", start=100.0))]


@st.composite
def shuffled_with_duplicates(draw: st.DrawFn, events: list[Event]) -> list[Event]:
    """Every event delivered 1–3 times, in any order."""
    copies = [e for e in events for _ in range(draw(st.integers(1, 3)))]
    return draw(st.permutations(copies))
