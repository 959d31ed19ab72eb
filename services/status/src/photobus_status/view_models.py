"""The state the status view folds events into: registers that join in any order.

Every field converges whatever the order or duplication of events: timestamps keep
the min or max, outcomes keep the record that wins a fixed precedence (ties broken
by event_id). The models are stored as JSON documents by `photobus_status.store`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from photobus_common.events import Frozen, ImageMetadata, ItemOptions, RenditionInfo
from pydantic import Field

PHOTO_SCOPE = "*"
"""Delivery facts that name no item apply to every item of the photo."""

T = TypeVar("T")


class Outcome(Frozen):
    """One recorded fact (a publish outcome, a rejection, a failure)."""

    at: datetime
    event_id: str
    reason: str | None = None
    url: str | None = None
    remote_id: str | None = None
    duplicate: bool = False
    retry_at: datetime | None = None
    attempt: int | None = None


def latest(a: Outcome | None, b: Outcome | None) -> Outcome | None:
    return pick(a, b, max, lambda o: (o.at, o.event_id))


def pick(a: T | None, b: T | None, choose: Callable[..., T], key: Callable[[T], Any]) -> T | None:
    if a is None or b is None:
        return a if b is None else b
    return choose(a, b, key=key)


def min_time(a: datetime | None, b: datetime | None) -> datetime | None:
    return pick(a, b, min, lambda t: t)


def max_time(a: datetime | None, b: datetime | None) -> datetime | None:
    return pick(a, b, max, lambda t: t)


class DeliveryFacts(Frozen):
    """What happened to one (photo, destination), as a join-semilattice."""

    succeeded: Outcome | None = None
    failed: Outcome | None = None
    skipped: Outcome | None = None
    retrying: Outcome | None = None
    requested_at: datetime | None = None

    def join(self, other: DeliveryFacts) -> DeliveryFacts:
        # Both sides are validated already: constructing skips validating them again.
        return DeliveryFacts.model_construct(
            # The original publish beats a duplicate; then the earliest.
            succeeded=pick(
                self.succeeded, other.succeeded, min, lambda o: (o.duplicate, o.at, o.event_id)
            ),
            failed=latest(self.failed, other.failed),
            skipped=latest(self.skipped, other.skipped),
            retrying=pick(
                self.retrying, other.retrying, max, lambda o: (o.attempt or 0, o.at, o.event_id)
            ),
            requested_at=max_time(self.requested_at, other.requested_at),
        )


class ThumbnailFacts(Frozen):
    created_at: datetime | None = None
    created_event_id: str | None = None
    renditions: dict[str, RenditionInfo] = Field(default_factory=dict)
    metadata: ImageMetadata | None = None
    failed: Outcome | None = None
    requested_at: datetime | None = None


class PhotoRef(Frozen):
    """One item (of one job) that received this photo."""

    job_id: str
    item_id: str
    received_at: datetime
    owner: str | None = None
    # A factory: pydantic deep-copies a model given as default on every construction.
    options: ItemOptions = Field(default_factory=ItemOptions)


class Original(Frozen):
    blob_key: str
    size: int
    content_type: str
    width: int
    height: int


class PhotoView(Frozen):
    photo_id: str
    first_seen: datetime
    original: Original | None = None
    refs: dict[str, PhotoRef] = Field(default_factory=dict)
    thumbnail: ThumbnailFacts = Field(default_factory=ThumbnailFacts)
    # scope (PHOTO_SCOPE or "<job_id>/<item_id>") -> destination -> facts
    deliveries: dict[str, dict[str, DeliveryFacts]] = Field(default_factory=dict)


class ItemView(Frozen):
    item_id: str
    position: int | None = None  # its place in the job as declared
    source: Literal["upload", "url"] | None = None
    filename: str | None = None
    url: str | None = None
    photo_id: str | None = None
    received_at: datetime | None = None
    options: ItemOptions | None = None
    rejected: Outcome | None = None
    dead_lettered: Outcome | None = None


class JobView(Frozen):
    job_id: str
    created: datetime
    accepted: bool = False
    owner: str | None = None
    options: ItemOptions | None = None
    items: dict[str, ItemView] = Field(default_factory=dict)
    dead_letters: tuple[str, ...] = ()


class StatusView(Frozen):
    jobs: dict[str, JobView] = Field(default_factory=dict)
    photos: dict[str, PhotoView] = Field(default_factory=dict)


def scope_of(job_id: str | None, item_id: str | None) -> str:
    return f"{job_id}/{item_id}" if job_id and item_id else PHOTO_SCOPE
