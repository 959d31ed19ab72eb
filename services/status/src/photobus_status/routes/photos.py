"""Photos: the list, one photo, its renditions, and re-publish / re-thumbnail commands.

Consumes nothing. Emits `publish.requested` and `thumbnail.requested` (confirmed
publishes; 503 with Retry-After when RabbitMQ does not confirm).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from photobus_common.broker import PublishError
from photobus_common.events import DESTINATIONS, Event, PublishRequested, ThumbnailRequested
from photobus_common.service import BLOBS, BROKER, PG_POOL

from photobus_status import queries
from photobus_status.routes import (
    RENDITIONS,
    SETTINGS,
    add_rendition_urls,
    error,
    is_photo_id,
    not_found,
    owner_of,
)

PRODUCER = "status"
MAX_PAGE = 200
IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE = "private, max-age=31536000, immutable"

routes = web.RouteTableDef()


def _photo_json(doc: queries.PhotoDoc) -> dict[str, Any]:
    body = doc.model_dump(mode="json")
    add_rendition_urls(doc.photo_id, body["thumbnails"])
    return body


@routes.get("/v1/photos")
async def list_photos(request: web.Request) -> web.Response:
    """Photos, newest first: `?tag=&destination=&state=&cursor=&limit=`; `next_cursor` pages on."""
    query = request.query
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_PAGE:
        return error(400, "invalid_limit", f"limit must be an integer from 1 to {MAX_PAGE}")
    try:
        page = await queries.list_photos(
            request.app[PG_POOL],
            owner=owner_of(request),
            tag=query.get("tag") or None,
            destination=query.get("destination") or None,
            state=query.get("state") or None,
            cursor=query.get("cursor") or None,
            limit=limit,
        )
    except queries.InvalidCursorError as e:
        return error(400, "invalid_cursor", str(e))
    return web.json_response(
        {"photos": [_photo_json(p) for p in page.photos], "next_cursor": page.next_cursor}
    )


async def _find_photo(request: web.Request) -> queries.PhotoDoc | None:
    photo_id = request.match_info["photo_id"]
    if not is_photo_id(photo_id):
        return None
    return await queries.get_photo(request.app[PG_POOL], photo_id, owner=owner_of(request))


@routes.get("/v1/photos/{photo_id}")
async def get_photo(request: web.Request) -> web.Response:
    """One photo: original, thumbnails, metadata, tags and per-destination state."""
    doc = await _find_photo(request)
    return not_found("photo") if doc is None else web.json_response(_photo_json(doc))


@routes.get("/v1/photos/{photo_id}/renditions/{name}")
async def get_rendition(request: web.Request) -> web.StreamResponse:
    """A rendition: `thumb` (WebP) or `preview` (JPEG; WebP when the photo is transparent).

    Renditions are content-addressed (the photo id is the original's hash): cached forever.
    """
    photo_id, name = request.match_info["photo_id"], request.match_info["name"]
    if not is_photo_id(photo_id) or name not in RENDITIONS:
        return not_found("rendition")
    owner = owner_of(request)
    found = await queries.rendition(request.app[PG_POOL], photo_id, name, owner=owner)
    if found is None:
        return not_found("rendition")
    blobs = request.app[BLOBS]
    info = await blobs.stat(found.key)
    if info is None:
        return not_found("rendition")
    etag = f'"{photo_id[:32]}-{name}-{info.size}"'
    # With API keys a shared cache must not hand one owner's rendition to another.
    headers = {"Cache-Control": IMMUTABLE if owner is None else PRIVATE, "ETag": etag}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    response = web.StreamResponse(headers={**headers, "Content-Type": f"image/{found.format}"})
    response.content_length = info.size
    await response.prepare(request)
    async for chunk in blobs.stream(found.key):
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.post("/v1/photos/{photo_id}/publish")
async def publish(request: web.Request) -> web.Response:
    """Publish again, or retry a failed destination: `{"destination": "flickr"}` → 202."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    destination = body.get("destination") if isinstance(body, dict) else None
    deployed = request.app[SETTINGS].publishers or DESTINATIONS
    if destination not in deployed:
        return error(
            400,
            "unknown_destination",
            f'send {{"destination": ...}} with one of: {", ".join(deployed)}',
        )
    doc = await _find_photo(request)
    if doc is None:
        return not_found("photo")
    event = PublishRequested(
        producer=PRODUCER,
        photo_id=doc.photo_id,
        destination=next(d for d in DESTINATIONS if d == destination),
        requested_by=owner_of(request),
    )
    if (unavailable := await _publish(request, event)) is not None:
        return unavailable
    return web.json_response(
        {"photo_id": doc.photo_id, "destination": destination, "status": "requested"}, status=202
    )


@routes.post("/v1/photos/{photo_id}/thumbnails")
async def rethumbnail(request: web.Request) -> web.Response:
    """Make the photo's thumbnails again → 202."""
    doc = await _find_photo(request)
    if doc is None:
        return not_found("photo")
    event = ThumbnailRequested(
        producer=PRODUCER, photo_id=doc.photo_id, requested_by=owner_of(request)
    )
    if (unavailable := await _publish(request, event)) is not None:
        return unavailable
    return web.json_response({"photo_id": doc.photo_id, "status": "requested"}, status=202)


async def _publish(request: web.Request, event: Event) -> web.Response | None:
    try:
        await request.app[BROKER].publish(event)
    except PublishError as e:
        return error(
            503,
            "broker_unavailable",
            f"the request could not be queued ({e}); retry in a few seconds",
            headers={"Retry-After": "5"},
        )
    return None
