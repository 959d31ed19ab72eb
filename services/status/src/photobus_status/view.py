"""The status view: a pure fold `apply(view, event) -> view`.

Every field is a register that converges whatever the order or duplication of
events: timestamps keep the min or max, outcomes keep the record that wins a
fixed precedence (ties broken by event_id), and values from `job.accepted`
override the ones inferred from later events only when they are set. The one
order-dependent rule (a re-publish request moves a failed destination back to
pending) compares `occurred_at` of the request and the failure, never the order
in which they arrived, so it converges too.

What the registers *mean* (delivery state, item and job progress) is derived in
`photobus_status.progress`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from photobus_common.events import (
    Event,
    FetchRequested,
    JobAccepted,
    MessageDeadLettered,
    PhotoReceived,
    PhotoRejected,
    PublishFailed,
    PublishRequested,
    PublishRetrying,
    PublishSkipped,
    PublishSucceeded,
    ThumbnailCreated,
    ThumbnailFailed,
    ThumbnailRequested,
)

from photobus_status.view_models import (
    DeliveryFacts,
    ItemView,
    JobView,
    Original,
    Outcome,
    PhotoRef,
    PhotoView,
    StatusView,
    latest,
    max_time,
    min_time,
    scope_of,
)


def fold(events: Iterable[Event], view: StatusView | None = None) -> StatusView:
    """`view` with every event folded in; `view` itself is left untouched."""
    # The events go into copies of the view's two dicts, changed in place: rebuilding the
    # view and its dicts for every event cost a copy of every job and photo of a batch
    # per event. The models in them are never changed, only replaced.
    draft = _Draft(dict(view.jobs), dict(view.photos)) if view else _Draft({}, {})
    for event in events:
        _apply(draft, event)
    return StatusView.model_construct(jobs=draft.jobs, photos=draft.photos)


def apply(view: StatusView, event: Event) -> StatusView:
    """Return the view with `event` folded in; `view` is left untouched."""
    return fold([event], view)


@dataclass(slots=True)
class _Draft:
    """The view being folded: its dicts change, the models in them do not."""

    jobs: dict[str, JobView]
    photos: dict[str, PhotoView]


def _apply(view: _Draft, event: Event) -> None:
    at, eid = event.occurred_at, str(event.event_id)
    match event:
        case JobAccepted():
            _update_job(view, event.job_id, at, lambda job: _accept(job, event))
        case FetchRequested():
            _update_item(view, event.job_id, event.item_id, at, event.owner, _fetch(event))
        case PhotoReceived():
            _update_item(view, event.job_id, event.item_id, at, event.owner, _receive(event))
            if event.job_id:
                ref = PhotoRef(
                    job_id=event.job_id,
                    item_id=event.item_id,
                    received_at=at,
                    owner=event.owner,
                    options=event.options,
                )
                _update_photo(view, event.photo_id, at, lambda p: _add_ref(p, ref, event))
        case PhotoRejected():
            fact = Outcome(at=at, event_id=eid, reason=_reason(event.reason, event.detail))
            _update_item(
                view,
                event.job_id,
                event.item_id,
                at,
                None,
                lambda i: i.model_copy(update={"rejected": latest(i.rejected, fact)}),
            )
        case ThumbnailCreated():
            _update_photo(view, event.photo_id, at, lambda p: _thumbnail_created(p, event))
        case ThumbnailFailed():
            fact = Outcome(at=at, event_id=eid, reason=_reason(event.reason, event.detail))
            _update_photo(view, event.photo_id, at, lambda p: _thumbnail_failed(p, fact))
        case ThumbnailRequested():
            _update_photo(view, event.photo_id, at, lambda p: _thumbnail_requested(p, at))
        case (
            PublishSucceeded()
            | PublishRetrying()
            | PublishFailed()
            | PublishSkipped()
            | PublishRequested()
        ):
            scope = scope_of(event.job_id, event.item_id)
            facts = _delivery_facts(event)
            _update_photo(
                view,
                event.photo_id,
                at,
                lambda p: _add_delivery(p, scope, event.destination, facts),
            )
        case MessageDeadLettered():
            _dead_lettered(view, event)


def _reason(code: str, detail: str) -> str:
    return f"{code}: {detail}" if detail else code


def _update_job(
    view: _Draft, job_id: str | None, at: datetime, change: Callable[[JobView], JobView]
) -> None:
    if not job_id:
        return
    job = view.jobs.get(job_id) or JobView(job_id=job_id, created=at)
    if at < job.created:  # (a copy only when it changes: this runs for every event)
        job = job.model_copy(update={"created": at})
    view.jobs[job_id] = change(job)


def _update_item(
    view: _Draft,
    job_id: str | None,
    item_id: str,
    at: datetime,
    owner: str | None,
    change: Callable[[ItemView], ItemView],
) -> None:
    def on_job(job: JobView) -> JobView:
        item = change(job.items.get(item_id) or ItemView(item_id=item_id))
        update: dict[str, Any] = {"items": {**job.items, item_id: item}}
        if not job.accepted and owner is not None:
            update["owner"] = min(owner, job.owner) if job.owner else owner
        return job.model_copy(update=update)

    _update_job(view, job_id, at, on_job)


def _update_photo(
    view: _Draft, photo_id: str, at: datetime, change: Callable[[PhotoView], PhotoView]
) -> None:
    photo = view.photos.get(photo_id) or PhotoView(photo_id=photo_id, first_seen=at)
    if at < photo.first_seen:
        photo = photo.model_copy(update={"first_seen": at})
    view.photos[photo_id] = change(photo)


def _accept(job: JobView, event: JobAccepted) -> JobView:
    items = dict(job.items)
    for position, declared in enumerate(event.items):
        item = items.get(declared.item_id) or ItemView(item_id=declared.item_id)
        # Declared values are authoritative; inferred ones only fill gaps.
        items[declared.item_id] = item.model_copy(
            update={
                "source": declared.source,
                "position": position,
                "filename": declared.filename or item.filename,
                "url": declared.url or item.url,
            }
        )
    return job.model_copy(
        update={"accepted": True, "owner": event.owner, "options": event.options, "items": items}
    )


def _fetch(event: FetchRequested) -> Callable[[ItemView], ItemView]:
    def change(item: ItemView) -> ItemView:
        return item.model_copy(
            update={
                "source": item.source or "url",
                "url": item.url or event.url,
                "options": item.options or event.options,
            }
        )

    return change


def _receive(event: PhotoReceived) -> Callable[[ItemView], ItemView]:
    inferred = "url" if event.source_url else "upload"

    def change(item: ItemView) -> ItemView:
        return item.model_copy(
            update={
                "source": item.source or inferred,
                "filename": item.filename or event.filename,
                "url": item.url or event.source_url,
                "photo_id": event.photo_id,
                "received_at": min_time(item.received_at, event.occurred_at),
                "options": event.options,  # the received photo's options win over the fetch's
            }
        )

    return change


def _add_ref(photo: PhotoView, ref: PhotoRef, event: PhotoReceived) -> PhotoView:
    key = scope_of(ref.job_id, ref.item_id)
    known = photo.refs.get(key)
    if known is not None and known.received_at <= ref.received_at:
        ref = known
    original = Original(
        blob_key=event.blob_key,
        size=event.size,
        content_type=event.content_type,
        width=event.width,
        height=event.height,
    )
    return photo.model_copy(
        update={"refs": {**photo.refs, key: ref}, "original": photo.original or original}
    )


def _thumbnail_created(photo: PhotoView, event: ThumbnailCreated) -> PhotoView:
    thumb = photo.thumbnail
    mine = (event.occurred_at, str(event.event_id))
    if thumb.created_at is not None and (thumb.created_at, thumb.created_event_id or "") >= mine:
        return photo  # a newer rendering is already recorded
    thumb = thumb.model_copy(
        update={
            "created_at": event.occurred_at,
            "created_event_id": str(event.event_id),
            "renditions": {r.name: r for r in event.renditions},
            "metadata": event.metadata,
        }
    )
    return photo.model_copy(update={"thumbnail": thumb})


def _thumbnail_failed(photo: PhotoView, fact: Outcome) -> PhotoView:
    failed = latest(photo.thumbnail.failed, fact)
    return photo.model_copy(
        update={"thumbnail": photo.thumbnail.model_copy(update={"failed": failed})}
    )


def _thumbnail_requested(photo: PhotoView, at: datetime) -> PhotoView:
    requested = max_time(photo.thumbnail.requested_at, at)
    thumb = photo.thumbnail.model_copy(update={"requested_at": requested})
    return photo.model_copy(update={"thumbnail": thumb})


def _delivery_facts(
    event: PublishSucceeded | PublishRetrying | PublishFailed | PublishSkipped | PublishRequested,
) -> DeliveryFacts:
    at, eid = event.occurred_at, str(event.event_id)
    match event:
        case PublishSucceeded():
            return DeliveryFacts(
                succeeded=Outcome(
                    at=at,
                    event_id=eid,
                    url=event.url,
                    remote_id=event.remote_id,
                    duplicate=event.duplicate,
                    attempt=event.attempt,
                )
            )
        case PublishRetrying():
            retry = Outcome(
                at=at,
                event_id=eid,
                reason=event.reason,
                retry_at=event.retry_at,
                attempt=event.attempt,
            )
            return DeliveryFacts(retrying=retry)
        case PublishFailed():
            reason = event.reason if event.permanent else f"gave up: {event.reason}"
            failed = Outcome(at=at, event_id=eid, reason=reason, attempt=event.attempt)
            return DeliveryFacts(failed=failed)
        case PublishSkipped():
            return DeliveryFacts(skipped=Outcome(at=at, event_id=eid, reason=event.reason))
        case PublishRequested():
            return DeliveryFacts(requested_at=at)


def _add_delivery(
    photo: PhotoView, scope: str, destination: str, facts: DeliveryFacts
) -> PhotoView:
    by_destination = dict(photo.deliveries.get(scope, {}))
    known = by_destination.get(destination)
    by_destination[destination] = known.join(facts) if known else facts
    return photo.model_copy(update={"deliveries": {**photo.deliveries, scope: by_destination}})


def _dead_lettered(view: _Draft, event: MessageDeadLettered) -> None:
    """Attach a poison message to the most precise thing it names, as a failure."""
    at = event.occurred_at
    fact = Outcome(at=at, event_id=str(event.event_id), reason=f"dead_lettered: {event.reason}")
    if event.photo_id and event.destination:
        scope = scope_of(event.job_id, event.item_id)
        facts = DeliveryFacts(failed=fact)
        _update_photo(
            view,
            event.photo_id,
            at,
            lambda p: _add_delivery(p, scope, str(event.destination), facts),
        )
        return
    if event.item_id and event.job_id:
        _update_item(
            view,
            event.job_id,
            event.item_id,
            at,
            None,
            lambda i: i.model_copy(update={"dead_lettered": latest(i.dead_lettered, fact)}),
        )
        return
    if event.photo_id:
        _update_photo(view, event.photo_id, at, lambda p: _thumbnail_failed(p, fact))
        return

    def note(job: JobView) -> JobView:
        reasons = sorted({*job.dead_letters, fact.reason or ""})
        return job.model_copy(update={"dead_letters": tuple(reasons)})

    _update_job(view, event.job_id, at, note)
