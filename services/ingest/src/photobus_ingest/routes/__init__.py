"""The ingest HTTP API: /v1/jobs and the seed-compatible upload routes."""

from __future__ import annotations

from aiohttp import web

from photobus_ingest.routes.jobs import post_job
from photobus_ingest.routes.openapi import openapi
from photobus_ingest.routes.seeds import post_images_upload, post_photos


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/jobs", post_job)
    app.router.add_post("/v1/images/upload", post_images_upload)
    app.router.add_post("/photos/", post_photos)
    app.router.add_post("/photos", post_photos)
    app.router.add_get("/openapi.json", openapi)
