"""The ingest HTTP API: /v1/jobs and the seed-compatible upload routes."""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_urldispatcher import _default_expect_handler

from photobus_ingest.routes.context import INGEST
from photobus_ingest.routes.errors import BodyTooLarge, error_response
from photobus_ingest.routes.jobs import post_job
from photobus_ingest.routes.openapi import openapi
from photobus_ingest.routes.seeds import post_images_upload, post_photos


async def expect_within_limit(request: web.Request) -> web.StreamResponse | None:
    """Answer `Expect: 100-continue` (curl sends it for big files) with 413 before the body
    is sent, when the declared length is already over the limit."""
    limit = request.app[INGEST].settings.max_upload_bytes
    if request.content_length is not None and request.content_length > limit:
        too_large = BodyTooLarge(limit)
        response = error_response(too_large.status, too_large.code, too_large.detail)
        response.force_close()
        return response
    await _default_expect_handler(request)
    return None


def add_routes(app: web.Application) -> None:
    for path, handler in (
        ("/v1/jobs", post_job),
        ("/v1/images/upload", post_images_upload),
        ("/photos/", post_photos),
        ("/photos", post_photos),
    ):
        app.router.add_post(path, handler, expect_handler=expect_within_limit)
    app.router.add_get("/openapi.json", openapi)
