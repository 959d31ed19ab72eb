"""The status HTTP API: what every route module shares.

Errors are JSON `{"error", "detail"}` everywhere, including aiohttp's own 404/405.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from photobus_common.auth import request_owner

from photobus_status.config import StatusSettings
from photobus_status.errors import DATABASE_DOWN
from photobus_status.job_doc import rendition_url
from photobus_status.jobcache import JobCache
from photobus_status.live import JobChanges

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", StatusSettings)
CHANGES = web.AppKey("job_changes", JobChanges)
JOB_CACHE = web.AppKey("job_cache", JobCache)

PHOTO_ID = re.compile(r"[0-9a-f]{64}")
RENDITIONS: frozenset[str] = frozenset({"thumb", "preview"})


def error(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


def not_found(what: str) -> web.Response:
    return error(404, "not_found", f"no {what} with this id; check the id")


def is_photo_id(value: str) -> bool:
    return PHOTO_ID.fullmatch(value) is not None


def owner_of(request: web.Request) -> str | None:
    """The authenticated caller, when API keys are configured; None = sees everything."""
    return request_owner(request)


def add_rendition_urls(photo_id: str | None, thumbnails: dict[str, Any]) -> None:
    if photo_id is None:
        return
    for name, rendition in thumbnails.items():
        if isinstance(rendition, dict):
            rendition["url"] = rendition_url(photo_id, name)


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = e.reason.lower().replace(" ", "_")
        return error(e.status, code, e.text or e.reason, headers=_kept_headers(e))
    except ConnectionResetError:
        raise  # the client left; there is no one to answer
    except DATABASE_DOWN as e:
        log.warning("%s %s: database unavailable: %r", request.method, request.path, e)
        return error(
            503,
            "database_unavailable",
            "the job view's database is not answering; retry in a few seconds",
            headers={"Retry-After": "5"},
        )
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error(500, "internal_error", "the status service failed; see its logs")


@web.middleware
async def refuse_nul(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A NUL character (%00) in a URL: no id holds one (404) and no tag, state or cursor
    does (400). Postgres takes no NUL in text: it was a 500 further in."""
    if "\x00" in request.path:
        return error(404, "not_found", "No URL with a NUL character (%00) leads anywhere.")
    if "\x00" in request.query_string:
        return error(400, "invalid_url", "The query holds a NUL character (%00): remove it.")
    return await handler(request)


def _kept_headers(e: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in e.headers.items() if k in ("Allow", "Retry-After")}
