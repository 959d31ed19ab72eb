"""The shapes ingest and status answer with, as the client reads them.

Unknown fields are ignored, so the services can add to their answers freely.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

DESTINATIONS: tuple[str, ...] = ("imgur", "flickr", "gphotos")
TERMINAL_JOB: frozenset[str] = frozenset({"completed", "partial", "failed"})


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class UploadOptions(Model):
    """What an upload asks for. `destinations` None = every destination; `skip` removes."""

    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    album: str | None = None
    destinations: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()
    keep_location: bool = False

    def form_fields(self) -> dict[str, str]:
        """The multipart fields ingest reads (only those set)."""
        fields: dict[str, str] = {}
        for name in ("title", "description", "album"):
            value = getattr(self, name)
            if value:
                fields[name] = value
        if self.tags:
            fields["tags"] = ",".join(self.tags)
        if self.destinations is not None:
            fields["destinations"] = ",".join(self.destinations)
        if self.skip:
            fields["skip"] = ",".join(self.skip)
        if self.keep_location:
            fields["keep_location"] = "true"
        return fields

    def json_fields(self) -> dict[str, object]:
        body: dict[str, object] = {
            k: v for k, v in self.form_fields().items() if k not in ("tags", "destinations", "skip")
        }
        body["keep_location"] = self.keep_location
        if self.tags:
            body["tags"] = list(self.tags)
        if self.destinations is not None:
            body["destinations"] = list(self.destinations)
        if self.skip:
            body["skip"] = list(self.skip)
        return body


class Rejection(Model):
    reason: str
    detail: str | None = None


class AcceptedItem(Model):
    item_id: str
    filename: str | None = None
    url: str | None = None
    photo_id: str | None = None
    duplicate: bool = False
    rejected: Rejection | None = None


class AcceptedJob(Model):
    """Ingest's 202 answer to `POST /v1/jobs`."""

    job_id: str
    status_url: str
    items: tuple[AcceptedItem, ...] = ()


class Destination(Model):
    state: str
    url: str | None = None
    remote_id: str | None = None
    duplicate: bool = False
    reason: str | None = None
    retry_at: datetime | None = None
    attempt: int | None = None


class Rendition(Model):
    width: int
    height: int
    format: str
    url: str | None = None


class JobItem(Model):
    item_id: str
    source: str | None = None
    filename: str | None = None
    url: str | None = None
    photo_id: str | None = None
    state: str
    reason: str | None = None
    duplicate: bool = False
    thumbnails: dict[str, Rendition] = Field(default_factory=dict)
    destinations: dict[str, Destination] = Field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.filename or self.url or self.item_id


class Job(Model):
    """Status's job document (`GET /v1/jobs/{id}`, and each SSE `job` event)."""

    job_id: str
    status: str
    created: datetime
    finished: datetime | None = None
    items: tuple[JobItem, ...] = ()

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_JOB


class Photo(Model):
    photo_id: str
    created: datetime
    state: str
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None
    thumbnail_state: str | None = None
    thumbnail_reason: str | None = None
    thumbnails: dict[str, Rendition] = Field(default_factory=dict)
    tags: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    destinations: dict[str, Destination] = Field(default_factory=dict)
    jobs: tuple[str, ...] = ()


class PhotoPage(Model):
    photos: tuple[Photo, ...]
    next_cursor: str | None = None
