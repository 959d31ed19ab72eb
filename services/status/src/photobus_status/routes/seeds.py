"""The seed application's routes, kept working with the same shapes.

`GET /v1/images/uploaded/{job_id}` → `{"id","status","created","finished","uploaded":
{"pending","completed","failed"}}`; `GET /v1/images` → `{"images": [Imgur links]}`.
"""

from __future__ import annotations

from aiohttp import web
from photobus_common.service import PG_POOL

from photobus_status import queries
from photobus_status.routes import not_found, owner_of

routes = web.RouteTableDef()


@routes.get("/v1/images/uploaded/{job_id}")
async def uploaded(request: web.Request) -> web.Response:
    """Seed-compatible job summary: `{"id","status","created","finished","uploaded"}`."""
    summary = await queries.seed_job_summary(
        request.app[PG_POOL], request.match_info["job_id"], owner=owner_of(request)
    )
    return not_found("job") if summary is None else web.json_response(summary)


@routes.get("/v1/images")
async def images(request: web.Request) -> web.Response:
    """Seed-compatible list of every published Imgur link: `{"images": [...]}`."""
    links = await queries.imgur_links(request.app[PG_POOL], owner_of(request))
    return web.json_response({"images": links})
