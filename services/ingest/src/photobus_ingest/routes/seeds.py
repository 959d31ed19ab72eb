"""The seed projects' upload routes, kept working for their existing clients.

- `POST /v1/images/upload` `{"urls": [...]}` → `200 {"job_id": ...}` (the imgur seed);
- `POST /photos/` multipart `photo_file`, `tags`, `skip` → 202 like /v1/jobs (mediascream).

Both follow the same durability rule as /v1/jobs.
"""

from __future__ import annotations

from aiohttp import web

from photobus_ingest.routes.jobs import accept_files, accept_urls
from photobus_ingest.routes.replies import SeedJobReply


async def post_images_upload(request: web.Request) -> web.Response:
    reply = await accept_urls(request)
    return web.json_response(SeedJobReply(job_id=str(reply["job_id"])).model_dump())


async def post_photos(request: web.Request) -> web.Response:
    return web.json_response(await accept_files(request), status=202)
