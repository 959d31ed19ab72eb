"""The gallery's pages: the photo grid, a photo, a job (live), the upload form.

Pages are rendered on the server from the same queries as the JSON API; the job page
then follows `GET /v1/jobs/{id}/events`, and the upload form posts to ingest, from
`static/gallery.js`. Emits `publish.requested` ("publish again" on a photo's page).
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from photobus_common.broker import PublishError
from photobus_common.events import DESTINATIONS, Destination, PublishRequested
from photobus_common.service import BROKER, PG_POOL
from yarl import URL

from photobus_status import queries
from photobus_status.gallery.present import DELIVERY_STATES, PHOTO_STATES, badge
from photobus_status.gallery.security import is_same_origin
from photobus_status.gallery.signin import gallery_upload_url, page_context
from photobus_status.routes import CHANGES, SETTINGS, is_photo_id, owner_of

TEMPLATES = web.AppKey("gallery_templates", jinja2.Environment)
PRODUCER = "status"
PAGE_SIZE = 24
# A job page opened the moment ingest answered may come before status folded
# `job.accepted`; wait this long for the job to appear before answering 404.
JOB_APPEARS_WITHIN = 5.0
MAX_JOB_ID = 200

routes = web.RouteTableDef()


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        template, request, {**page_context(request), **context}, app_key=TEMPLATES, status=status
    )


def not_found(request: web.Request, what: str) -> web.Response:
    return render(request, "not_found.html", {"what": what}, status=404)


def deployed(request: web.Request) -> tuple[Destination, ...]:
    """Where "publish again" may send a photo: the API accepts the same."""
    return request.app[SETTINGS].publishers or DESTINATIONS


def _one_of(value: str | None, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else ""


@routes.get("/")
async def photo_grid(request: web.Request) -> web.Response:
    """The gallery: photos newest first, filtered by tag, destination and state."""
    query = request.query
    filters = {
        "tag": query.get("tag", "").strip(),
        "destination": _one_of(query.get("destination"), DESTINATIONS),
        "state": _one_of(query.get("state"), (*PHOTO_STATES, *DELIVERY_STATES)),
    }
    chosen = {k: v for k, v in filters.items() if v}
    context: dict[str, Any] = {"filters": filters, "photos": [], "error": None}
    context["newer_url"] = str(URL("/").with_query(chosen)) if "cursor" in query else None
    context["older_url"] = None
    try:
        page = await queries.list_photos(
            request.app[PG_POOL],
            owner=owner_of(request),
            tag=filters["tag"] or None,
            destination=filters["destination"] or None,
            state=filters["state"] or None,
            cursor=query.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except queries.InvalidCursorError as e:
        return render(request, "grid.html", {**context, "error": str(e)}, status=400)
    context["photos"] = page.photos
    if page.next_cursor:
        context["older_url"] = str(URL("/").with_query({**chosen, "cursor": page.next_cursor}))
    return render(request, "grid.html", context)


async def _photo_page(
    request: web.Request, photo: queries.PhotoDoc, *, error: str | None = None, status: int = 200
) -> web.Response:
    requested = request.query.get("requested")
    shown = [d for d in DESTINATIONS if d in photo.destinations or d in deployed(request)]
    return render(
        request,
        "photo.html",
        {
            "photo": photo,
            "badges": [badge(d, photo.destinations.get(d)) for d in shown],
            "can_publish": deployed(request),
            "requested": requested if requested in DESTINATIONS else None,
            "error": error,
        },
        status=status,
    )


async def _find_photo(request: web.Request) -> queries.PhotoDoc | None:
    photo_id = request.match_info["photo_id"]
    if not is_photo_id(photo_id):
        return None
    return await queries.get_photo(request.app[PG_POOL], photo_id, owner=owner_of(request))


@routes.get("/photos/{photo_id}")
async def photo_page(request: web.Request) -> web.Response:
    """A photo: its preview, metadata, tags, and each destination's link or error."""
    photo = await _find_photo(request)
    return not_found(request, "photo") if photo is None else await _photo_page(request, photo)


@routes.post("/photos/{photo_id}/publish")
async def publish_again(request: web.Request) -> web.Response:
    """The photo page's "publish again" form (field `destination`); back to the page."""
    if not is_same_origin(request):
        return render(request, "refused.html", {}, status=403)
    form = await request.post()
    destination = next((d for d in deployed(request) if d == form.get("destination")), None)
    photo = await _find_photo(request)
    if photo is None:
        return not_found(request, "photo")
    if destination is None:
        return await _photo_page(
            request, photo, error="Choose one of the listed destinations.", status=400
        )
    event = PublishRequested(
        producer=PRODUCER,
        photo_id=photo.photo_id,
        destination=destination,
        requested_by=owner_of(request),
    )
    try:
        await request.app[BROKER].publish(event)
    except PublishError:
        error = "The request could not be queued (RabbitMQ did not confirm it); try again in a few seconds."
        return await _photo_page(request, photo, error=error, status=503)
    location = URL(f"/photos/{photo.photo_id}").with_query(requested=destination)
    raise web.HTTPSeeOther(location=str(location))


@routes.get("/jobs/{job_id}")
async def job_page(request: web.Request) -> web.Response:
    """A job: every item's progress, kept live by the page's script (SSE)."""
    job_id = request.match_info["job_id"]
    if len(job_id) > MAX_JOB_ID:
        return not_found(request, "job")
    job = await _job_when_it_appears(request, job_id)
    if job is None:
        return not_found(request, "job")
    return render(request, "job.html", {"job": job, "badge": badge})


async def _job_when_it_appears(request: web.Request, job_id: str) -> queries.JobDoc | None:
    pool, owner = request.app[PG_POOL], owner_of(request)
    deadline = time.monotonic() + JOB_APPEARS_WITHIN
    with request.app[CHANGES].subscribe(job_id) as changes:
        while (job := await queries.get_job(pool, job_id, owner=owner)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            await changes.wait(min(remaining, 1.0))
    return job


@routes.get("/upload")
async def upload_form(request: web.Request) -> web.Response:
    """Upload photos: files (drag and drop), title, tags, album, destinations."""
    ingest = request.app[SETTINGS].ingest_public_url.rstrip("/")
    return render(
        request,
        "upload.html",
        # Signed in with a session: the form posts here, and this service forwards it.
        {
            "ingest_jobs_url": gallery_upload_url(request) or f"{ingest}/v1/jobs",
            "destinations": DESTINATIONS,
        },
    )
