"""The ingest API's OpenAPI document: every route, with the reply models the routes use."""

from __future__ import annotations

from functools import cache
from typing import Any

from photobus_common.apidocs import (
    ErrorReply,
    Operation,
    Reply,
    health_operations,
    openapi_document,
)

from photobus_ingest.routes import jobs, seeds
from photobus_ingest.routes.replies import (
    DESTINATION_LIST,
    SKIP_LIST,
    JobReply,
    SeedJobReply,
    UrlJobRequest,
)

_TEXT_FIELDS = ("title", "description", "tags", "album")
_FLAG = ["true", "false", "1", "0", "yes", "no", "on", "off", ""]


def _multipart(file_field: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [file_field],
        "properties": {
            file_field: {"type": "array", "items": {"type": "string", "format": "binary"}},
            **{name: {"type": "string"} for name in _TEXT_FIELDS},
            "destinations": {"type": "string", "pattern": DESTINATION_LIST},
            "skip": {"type": "string", "pattern": SKIP_LIST},
            "keep_location": {"type": "string", "enum": _FLAG},
        },
    }


_FAILURES = (
    Reply(400, "The request is not a job (no files, bad options, bad JSON)", ErrorReply),
    Reply(413, "The body is over PHOTOBUS_MAX_UPLOAD_BYTES", ErrorReply),
    Reply(415, "Neither multipart/form-data nor application/json", ErrorReply),
    Reply(503, "RabbitMQ or the blob store is down: retry after Retry-After", ErrorReply,
          headers=("Retry-After",)),
)  # fmt: skip
_ACCEPTED = Reply(202, "Accepted: every original stored, every event confirmed", JobReply)


def operations() -> tuple[Operation, ...]:
    return (
        Operation(
            "POST",
            "/v1/jobs",
            jobs.post_job,
            (_ACCEPTED, *_FAILURES),
            body={"multipart/form-data": _multipart("file"), "application/json": UrlJobRequest},
            summary="Upload files (multipart) or URLs (JSON) as one job.",
        ),
        Operation(
            "POST",
            "/v1/images/upload",
            seeds.post_images_upload,
            (Reply(200, "The job's id", SeedJobReply), *_FAILURES),
            body={"application/json": UrlJobRequest},
            summary='Seed-compatible: {"urls": [...]} → {"job_id"}.',
        ),
        *(
            Operation(
                "POST",
                path,
                seeds.post_photos,
                (_ACCEPTED, *_FAILURES),
                body={"multipart/form-data": _multipart("photo_file")},
                summary="Seed-compatible upload: multipart `photo_file`, `tags`, `skip`.",
            )
            for path in ("/photos/", "/photos")
        ),
        Operation(
            "GET",
            "/openapi.json",
            openapi_spec,
            (Reply(200, "This document", schema={"type": "object"}),),
            summary="This API's OpenAPI document.",
        ),
        *health_operations(),
    )


@cache
def openapi_spec() -> dict[str, Any]:
    return openapi_document(
        title="photobus ingest",
        version="1",
        description="Upload photos (files or URLs) as jobs. Answers 202 only once every "
        "original is stored and its events are confirmed by RabbitMQ.",
        operations=operations(),
    )
