"""The events photobus services exchange over RabbitMQ.

Every message is one frozen model of the union `Event`, discriminated by `type`
(which is also the routing key). Consumers are idempotent on `event_id`;
additive changes keep `version` at 1.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Destination = Literal["imgur", "flickr", "gphotos"]
DESTINATIONS: tuple[Destination, ...] = ("imgur", "flickr", "gphotos")


def _now() -> datetime:
    return datetime.now(UTC)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ItemOptions(Frozen):
    """What the uploader asked for, carried with every item to every destination."""

    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    album: str | None = None
    destinations: tuple[Destination, ...] = DESTINATIONS
    strip_location: bool = True


class Envelope(Frozen):
    event_id: UUID = Field(default_factory=uuid4)
    version: int = 1
    occurred_at: datetime = Field(default_factory=_now)
    producer: str
    job_id: str | None = None


class JobItem(Frozen):
    item_id: str
    source: Literal["upload", "url"]
    filename: str | None = None
    url: str | None = None


class JobAccepted(Envelope):
    type: Literal["job.accepted"] = "job.accepted"
    owner: str | None = None
    items: tuple[JobItem, ...]
    options: ItemOptions


class FetchRequested(Envelope):
    type: Literal["fetch.requested"] = "fetch.requested"
    owner: str | None = None
    item_id: str
    url: str
    options: ItemOptions


class PhotoReceived(Envelope):
    type: Literal["photo.received"] = "photo.received"
    owner: str | None = None
    item_id: str
    photo_id: str
    blob_key: str
    size: int
    content_type: str
    width: int
    height: int
    filename: str | None = None
    source_url: str | None = None
    options: ItemOptions


class PhotoRejected(Envelope):
    type: Literal["photo.rejected"] = "photo.rejected"
    item_id: str
    reason: str
    detail: str


class RenditionInfo(Frozen):
    name: str
    key: str
    width: int
    height: int
    format: str
    bytes: int


class ImageMetadata(Frozen):
    width: int
    height: int
    taken_at: datetime | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    orientation: int = 1
    has_location: bool = False


class ThumbnailCreated(Envelope):
    type: Literal["thumbnail.created"] = "thumbnail.created"
    photo_id: str
    renditions: tuple[RenditionInfo, ...]
    metadata: ImageMetadata


class ThumbnailFailed(Envelope):
    type: Literal["thumbnail.failed"] = "thumbnail.failed"
    photo_id: str
    reason: str
    detail: str = ""


class _PublishOutcome(Envelope):
    photo_id: str
    item_id: str | None = None
    destination: Destination


class PublishSucceeded(_PublishOutcome):
    type: Literal["publish.succeeded"] = "publish.succeeded"
    remote_id: str
    url: str
    duplicate: bool = False
    attempt: int = 1


class PublishRetrying(_PublishOutcome):
    type: Literal["publish.retrying"] = "publish.retrying"
    attempt: int
    retry_at: datetime
    reason: str


class PublishFailed(_PublishOutcome):
    type: Literal["publish.failed"] = "publish.failed"
    attempt: int
    permanent: bool
    reason: str


class PublishSkipped(_PublishOutcome):
    type: Literal["publish.skipped"] = "publish.skipped"
    reason: str


class PublishRequested(Envelope):
    type: Literal["publish.requested"] = "publish.requested"
    photo_id: str
    destination: Destination
    requested_by: str | None = None
    item_id: str | None = None


class ThumbnailRequested(Envelope):
    type: Literal["thumbnail.requested"] = "thumbnail.requested"
    photo_id: str
    requested_by: str | None = None


class MessageDeadLettered(Envelope):
    """A message a consumer could not handle, reported so the job view shows it."""

    type: Literal["message.dead_lettered"] = "message.dead_lettered"
    queue: str
    original_event_id: str | None = None
    original_type: str | None = None
    photo_id: str | None = None
    item_id: str | None = None
    destination: Destination | None = None
    reason: str


Event = Annotated[
    JobAccepted
    | FetchRequested
    | PhotoReceived
    | PhotoRejected
    | ThumbnailCreated
    | ThumbnailFailed
    | PublishSucceeded
    | PublishRetrying
    | PublishFailed
    | PublishSkipped
    | PublishRequested
    | ThumbnailRequested
    | MessageDeadLettered,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: tuple[str, ...] = (
    "job.accepted",
    "fetch.requested",
    "photo.received",
    "photo.rejected",
    "thumbnail.created",
    "thumbnail.failed",
    "publish.succeeded",
    "publish.retrying",
    "publish.failed",
    "publish.skipped",
    "publish.requested",
    "thumbnail.requested",
    "message.dead_lettered",
)


# A NUL character (JSON `\u0000`, not after an escaped backslash) is read as U+FFFD:
# Postgres takes no NUL in text or jsonb, and a title, tag or remote error message
# holding one would fail the job view's writes again and again.
_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_NUL_BYTES = re.compile(_NUL.pattern.encode())


def parse_event(body: bytes | str) -> Event:
    """Parse one message body; raises pydantic.ValidationError on anything else."""
    if isinstance(body, bytes):
        if b"\\u0000" in body:
            body = _NUL_BYTES.sub(rb"\1\\ufffd", body)
    elif "\\u0000" in body:
        body = _NUL.sub(r"\1\\ufffd", body)
    return EVENT_ADAPTER.validate_json(body)


def dump_event(event: Event) -> bytes:
    return event.model_dump_json().encode()
