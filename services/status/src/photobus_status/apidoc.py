"""The status API's OpenAPI document: every route, with the models the queries return."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from photobus_common.apidocs import (
    ErrorReply,
    Operation,
    Reply,
    health_operations,
    openapi_document,
)
from photobus_common.events import Destination
from pydantic import BaseModel

from photobus_status.queries import JobDoc, PhotoDoc, PhotoPage
from photobus_status.routes import jobs, photos, seeds
from photobus_status.routes.photos import MAX_PAGE


class PublishCommand(BaseModel):
    destination: Destination


class CommandAccepted(BaseModel):
    """202: the command is queued (confirmed by RabbitMQ); progress shows on the photo."""

    photo_id: str
    status: str
    destination: Destination | None = None


class SeedUploaded(BaseModel):
    pending: list[str]
    completed: list[str]
    failed: list[str]


class SeedJobSummary(BaseModel):
    """The imgur seed's job summary; completed items are listed by their Imgur link."""

    id: str
    status: str
    created: datetime
    finished: datetime | None
    uploaded: SeedUploaded


class ImageLinks(BaseModel):
    images: list[str]


PHOTO_ID = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_NOT_FOUND = Reply(404, "No such job or photo (or not yours)", ErrorReply)
_DATABASE_DOWN = Reply(
    503, "The database (or RabbitMQ) is not answering: retry after Retry-After", ErrorReply,
    headers=("Retry-After",),
)  # fmt: skip
_TEXT = {"type": "string"}


def operations() -> tuple[Operation, ...]:
    return (
        Operation("GET", "/v1/jobs/{job_id}", jobs.get_job,
                  (Reply(200, "The job", JobDoc, headers=("ETag",)),
                   Reply(304, "Not modified (If-None-Match)"), _NOT_FOUND, _DATABASE_DOWN)),
        Operation("GET", "/v1/jobs/{job_id}/events", jobs.job_events,
                  (Reply(200, "Server-Sent Events: `job` (the job's JSON), then `end`",
                         media_type="text/event-stream", schema=_TEXT),
                   _NOT_FOUND, _DATABASE_DOWN)),
        Operation("GET", "/v1/photos", photos.list_photos,
                  (Reply(200, "One page of photos, newest first", PhotoPage),
                   Reply(400, "A bad `limit` or `cursor`", ErrorReply), _DATABASE_DOWN),
                  query=(("tag", _TEXT, "only photos with this tag"),
                         ("destination", _TEXT, "only photos sent to this destination"),
                         ("state", _TEXT, "only photos in this state"),
                         ("cursor", _TEXT, "`next_cursor` of the previous page"),
                         ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
                                    "default": 50}, "page size"))),
        Operation("GET", "/v1/photos/{photo_id}", photos.get_photo,
                  (Reply(200, "The photo", PhotoDoc), _NOT_FOUND, _DATABASE_DOWN),
                  path_schemas={"photo_id": PHOTO_ID}),
        Operation("GET", "/v1/photos/{photo_id}/renditions/{name}", photos.get_rendition,
                  (Reply(200, "The rendition: thumb WebP, preview JPEG (WebP if transparent)",
                         media_type=("image/jpeg", "image/webp"),
                         schema={"type": "string", "format": "binary"}, headers=("ETag",)),
                   Reply(304, "Not modified (If-None-Match)"), _NOT_FOUND, _DATABASE_DOWN),
                  path_schemas={"photo_id": PHOTO_ID,
                                "name": {"type": "string", "enum": ["thumb", "preview"]}}),
        Operation("POST", "/v1/photos/{photo_id}/publish", photos.publish,
                  (Reply(202, "Publishing requested", CommandAccepted),
                   Reply(400, "Not a deployed destination", ErrorReply), _NOT_FOUND,
                   _DATABASE_DOWN),
                  body={"application/json": PublishCommand}, path_schemas={"photo_id": PHOTO_ID}),
        Operation("POST", "/v1/photos/{photo_id}/thumbnails", photos.rethumbnail,
                  (Reply(202, "Thumbnails requested", CommandAccepted), _NOT_FOUND,
                   _DATABASE_DOWN),
                  path_schemas={"photo_id": PHOTO_ID}),
        Operation("GET", "/v1/images/uploaded/{job_id}", seeds.uploaded,
                  (Reply(200, "The job, summarised", SeedJobSummary), _NOT_FOUND,
                   _DATABASE_DOWN)),
        Operation("GET", "/v1/images", seeds.images,
                  (Reply(200, "Every published Imgur link", ImageLinks), _DATABASE_DOWN)),
        Operation("GET", "/openapi.json", openapi_spec,
                  (Reply(200, "This document", schema={"type": "object"}),),
                  summary="This API's OpenAPI document."),
        *health_operations(),
    )  # fmt: skip


@cache
def openapi_spec() -> dict[str, Any]:
    return openapi_document(
        title="photobus status",
        version="1",
        description="Jobs, photos and their per-destination state; live progress; "
        "re-publish and re-thumbnail commands.",
        operations=operations(),
    )
