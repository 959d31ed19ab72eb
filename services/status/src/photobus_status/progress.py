"""What the registers of the status view mean: delivery, item, photo and job state.

Pure functions of `photobus_status.view` models. `required` says whether an item
waits for its destinations to be published/failed/skipped before it is terminal
(False while no publisher is deployed, so jobs still complete).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from photobus_common.events import Frozen
from pydantic import Field

from photobus_status.view_models import (
    PHOTO_SCOPE,
    DeliveryFacts,
    ItemView,
    JobView,
    PhotoView,
    scope_of,
)

DeliveryState = Literal["pending", "retrying", "published", "failed", "skipped"]
Progress = Literal["pending", "processing", "completed", "partial", "failed"]
JobStatus = Literal["accepted", "processing", "completed", "partial", "failed"]
ThumbnailState = Literal["pending", "created", "failed"]
TERMINAL_DELIVERY: frozenset[str] = frozenset({"published", "failed", "skipped"})
TERMINAL_PROGRESS: frozenset[str] = frozenset({"completed", "partial", "failed"})
NO_FACTS = DeliveryFacts()


class Delivery(Frozen):
    state: DeliveryState = "pending"
    url: str | None = None
    remote_id: str | None = None
    duplicate: bool = False
    reason: str | None = None
    retry_at: datetime | None = None
    attempt: int | None = None
    updated_at: datetime | None = None


class ItemState(Frozen):
    state: Progress
    reason: str | None = None
    duplicate: bool = False
    finished: datetime | None = None
    destinations: dict[str, Delivery] = Field(default_factory=dict)


def delivery_of(facts: DeliveryFacts) -> Delivery:
    """published > failed > skipped > retrying > pending.

    A failure counts unless a re-publish was requested *after* it (by
    occurred_at); retries older than that request are stale too.
    """
    if (ok := facts.succeeded) is not None:
        return Delivery(
            state="published",
            url=ok.url,
            remote_id=ok.remote_id,
            duplicate=ok.duplicate,
            attempt=ok.attempt,
            updated_at=ok.at,
        )
    requested = facts.requested_at
    failed = facts.failed
    if failed is not None and (requested is None or failed.at >= requested):
        return Delivery(
            state="failed", reason=failed.reason, attempt=failed.attempt, updated_at=failed.at
        )
    if (skipped := facts.skipped) is not None:
        return Delivery(state="skipped", reason=skipped.reason, updated_at=skipped.at)
    retry = facts.retrying
    if retry is not None and (requested is None or retry.at >= requested):
        return Delivery(
            state="retrying",
            reason=retry.reason,
            retry_at=retry.retry_at,
            attempt=retry.attempt,
            updated_at=retry.at,
        )
    return Delivery(updated_at=requested)


def _join_all(facts: Iterable[DeliveryFacts | None]) -> DeliveryFacts:
    """The facts joined, the missing (None) left out: joining one is no work at all."""
    joined: DeliveryFacts | None = None
    for one in facts:
        if one is not None:
            joined = one if joined is None else joined.join(one)
    return NO_FACTS if joined is None else joined


def thumbnail_state(photo: PhotoView | None) -> tuple[ThumbnailState, str | None]:
    if photo is None:
        return "pending", None
    thumb = photo.thumbnail
    if thumb.created_at is not None:
        return "created", None
    failed = thumb.failed
    if failed is not None and (thumb.requested_at is None or failed.at >= thumb.requested_at):
        return "failed", failed.reason
    return "pending", None


def _thumbnail_done_at(photo: PhotoView) -> datetime | None:
    thumb = photo.thumbnail
    return thumb.created_at or (thumb.failed.at if thumb.failed else None)


def requested_destinations(item: ItemView, job: JobView) -> tuple[str, ...]:
    options = item.options or job.options
    return tuple(options.destinations) if options else ()


def item_destinations(
    photo: PhotoView | None, scope: str, requested: Iterable[str]
) -> dict[str, Delivery]:
    """The item's own facts, joined with photo-wide facts for what it requested."""
    wanted = list(requested)
    if photo is None:
        return {d: Delivery() for d in wanted}
    own = photo.deliveries.get(scope, {})
    shared = photo.deliveries.get(PHOTO_SCOPE, {})
    names = [*wanted, *sorted(set(own) - set(wanted))]
    return {
        d: delivery_of(_join_all([own.get(d), shared.get(d)]))
        if d in wanted
        else delivery_of(own[d])
        for d in names
    }


def photo_destinations(photo: PhotoView) -> dict[str, Delivery]:
    """Per destination, every scope's facts joined: the photo's overall deliveries."""
    names = sorted({d for by_dest in photo.deliveries.values() for d in by_dest})
    names = sorted(set(names) | set(_photo_requested(photo)))
    return {
        d: delivery_of(_join_all(f[d] for f in photo.deliveries.values() if d in f)) for d in names
    }


def _photo_requested(photo: PhotoView) -> set[str]:
    return {d for ref in photo.refs.values() for d in ref.options.destinations}


def _progress(
    thumb: ThumbnailState,
    thumb_reason: str | None,
    deliveries: Mapping[str, Delivery],
    requested: Iterable[str],
    required: bool,
) -> tuple[Progress, str | None]:
    if thumb == "failed":
        return "failed", thumb_reason
    wanted = [deliveries[d] for d in requested if d in deliveries]
    failures = [f"{d}: {v.reason}" for d, v in deliveries.items() if v.state == "failed"]
    reason = "; ".join(failures) or None
    done = all(d.state in TERMINAL_DELIVERY for d in wanted)
    if thumb == "pending" or (required and not done):
        return "processing", reason
    attempted = [d for d in wanted if d.state != "skipped"]
    if attempted and all(d.state == "failed" for d in attempted):
        return "failed", reason
    return ("partial" if failures else "completed"), reason


def item_state(
    job: JobView,
    item: ItemView,
    photo: PhotoView | None,
    required: bool,
    destinations: dict[str, Delivery] | None = None,
) -> ItemState:
    """`destinations`: the item's `item_destinations`, when they are known already."""
    for fact in (item.rejected, item.dead_lettered):
        if fact is not None:
            return ItemState(state="failed", reason=fact.reason, finished=fact.at)
    if item.photo_id is None or photo is None:
        return ItemState(state="pending")
    scope = scope_of(job.job_id, item.item_id)
    requested = requested_destinations(item, job)
    if destinations is None:
        destinations = item_destinations(photo, scope, requested)
    thumb, thumb_reason = thumbnail_state(photo)
    state, reason = _progress(thumb, thumb_reason, destinations, requested, required)
    finished = None
    if state in TERMINAL_PROGRESS:
        times = [d.updated_at for d in destinations.values() if d.state in TERMINAL_DELIVERY]
        finished = max((t for t in [*times, _thumbnail_done_at(photo)] if t), default=None)
    return ItemState(
        state=state,
        reason=reason,
        duplicate=is_duplicate(photo, scope),
        finished=finished,
        destinations=destinations,
    )


def is_duplicate(photo: PhotoView, scope: str) -> bool:
    """True when another item received the same bytes earlier."""
    mine = photo.refs.get(scope)
    if mine is None:
        return False
    first = min(photo.refs.items(), key=lambda kv: (kv[1].received_at, kv[0]))
    return first[0] != scope


def photo_state(
    photo: PhotoView, required: bool, deliveries: Mapping[str, Delivery] | None = None
) -> tuple[Progress, str | None]:
    """`deliveries`: the photo's `photo_destinations`, when they are known already."""
    thumb, thumb_reason = thumbnail_state(photo)
    if deliveries is None:
        deliveries = photo_destinations(photo)
    return _progress(thumb, thumb_reason, deliveries, _photo_requested(photo), required)


def job_status(
    job: JobView, photos: Mapping[str, PhotoView], required: bool
) -> tuple[JobStatus, datetime | None]:
    """The job's status and, once terminal, when its last item finished."""
    states = [
        item_state(job, item, photos.get(item.photo_id or ""), required)
        for item in job.items.values()
    ]
    return status_of(job, states)


def status_of(job: JobView, states: Sequence[ItemState]) -> tuple[JobStatus, datetime | None]:
    """`job_status` from its items' states, when they are known already."""
    started = any(s.state != "pending" for s in states)
    if not job.accepted or not states or any(s.state not in TERMINAL_PROGRESS for s in states):
        return ("processing" if started else "accepted"), None
    finished = max((s.finished for s in states if s.finished), default=None)
    if all(s.state == "failed" for s in states):
        return "failed", finished
    if all(s.state == "completed" for s in states):
        return "completed", finished
    return "partial", finished
