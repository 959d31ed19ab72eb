"""Signing in to the gallery with an API key, when `PHOTOBUS_API_KEYS` is set.

- `/signin` takes a key once and answers with a session cookie (`gallery.sessions`);
  every page and the API then accept the cookie as they accept the key. A browser without
  either is sent to `/signin`; the API answers 401.
- Every state-changing request made with the cookie carries the session's CSRF token:
  the `csrf_token` hidden field of the gallery's forms, the `X-CSRF-Token` header, or the
  `csrf_token` query parameter of the upload form's action (multipart bodies are
  streamed, not parsed here).
- Uploads: the browser never holds a key. The upload form posts to `/upload/jobs` on
  this origin, which forwards the body to ingest with the key the session signed in
  with (held in this process's memory only). After a restart, or on another replica,
  the upload asks to sign in again; pages keep working with any replica that shares
  `PHOTOBUS_SESSION_SECRET`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

import aiohttp
import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from photobus_common import auth
from photobus_common.auth import presented_key, with_api_keys
from yarl import URL

from photobus_status.config import StatusSettings
from photobus_status.gallery.security import is_same_origin
from photobus_status.gallery.sessions import Session, Sessions

log = logging.getLogger(__name__)

SESSIONS = web.AppKey("gallery_sessions", Sessions)
SESSION = web.RequestKey("gallery_session", Session)
INGEST_JOBS = web.AppKey("gallery_ingest_jobs", str)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATIC_PREFIX = "/gallery/static/"
UPLOAD_PATH = "/upload/jobs"
FORWARDED_HEADERS = ("Content-Type", "Content-Length")
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=300)

routes = web.RouteTableDef()


def guard(app: web.Application, settings: StatusSettings) -> None:
    """Require a key or a gallery session on every route but health, metrics, the
    document, sign-in and static files; nothing when no keys are configured."""
    keys = settings.api_key_table
    if not keys:
        return
    app[SESSIONS] = Sessions(_secret(settings), keys)
    app[INGEST_JOBS] = settings.ingest_public_url.rstrip("/") + "/v1/jobs"
    app.add_routes(routes)
    with_api_keys(app, keys, public=is_public, session_owner=session_owner, challenge=challenge)
    app.middlewares.append(csrf_guard)


def _secret(settings: StatusSettings) -> bytes:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    log.warning(
        "PHOTOBUS_SESSION_SECRET is not set: gallery sessions use a random secret and end "
        "when this process restarts (and other replicas do not accept them)"
    )
    return secrets.token_bytes(32)


def is_public(request: web.Request) -> bool:
    return (
        auth.is_public(request)
        or request.path == "/signin"
        or request.path.startswith(STATIC_PREFIX)
    )


def session_owner(request: web.Request) -> str | None:
    session = request.app[SESSIONS].read(request)
    if session is None:
        return None
    request[SESSION] = session
    return session.name


def challenge(request: web.Request) -> web.StreamResponse | None:
    """Browsers asking for a gallery page go to sign in; the API keeps its 401."""
    if request.method not in ("GET", "HEAD") or request.path.startswith("/v1/"):
        return None
    location = URL("/signin").with_query(next=request.path_qs)
    return web.Response(status=303, headers={"Location": str(location)})


@web.middleware
async def csrf_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A state-changing request made with the session cookie must carry its CSRF token."""
    session = request.get(SESSION)
    if session is not None and request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER) or request.query.get(CSRF_FIELD)
        if presented is None and request.content_type == "application/x-www-form-urlencoded":
            field = (await request.post()).get(CSRF_FIELD)
            presented = field if isinstance(field, str) else None
        if presented is None or not hmac.compare_digest(
            presented.encode(), session.csrf_token.encode()
        ):
            return web.json_response(
                {
                    "error": "csrf_token_invalid",
                    "detail": "this form is stale or came from another site: reload the "
                    "page and try again",
                },
                status=403,
            )
    return await handler(request)


def page_context(request: web.Request) -> dict[str, Any]:
    """What every gallery page knows of the session: `signed_in_as`, `csrf_token`."""
    sessions = request.app.get(SESSIONS)
    session = sessions.read(request) if sessions is not None else None
    return {
        "signed_in_as": session.name if session else None,
        "csrf_token": session.csrf_token if session else "",
    }


def _next_page(value: object) -> str:
    """Only a path on this site: never an open redirect."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


@routes.get("/signin")
async def sign_in_form(request: web.Request) -> web.Response:
    """The sign-in page: one field, the API key."""
    return _form(request, next_page=_next_page(request.query.get("next")))


def _form(
    request: web.Request, *, next_page: str, error: str | None = None, status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        "signin.html",
        request,
        {"next_page": next_page, "error": error, "signed_in_as": None, "csrf_token": ""},
        app_key=_templates(),
        status=status,
    )


def _templates() -> web.AppKey[Any]:
    from photobus_status.gallery.routes import TEMPLATES  # the gallery's environment

    return TEMPLATES


@routes.post("/signin")
async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the key; on success set the session cookie and go where the user was going."""
    if not is_same_origin(request):
        return _form(request, next_page="/", error="Sign in from this site's page.", status=403)
    form = await request.post()
    next_page = _next_page(form.get("next"))
    key = form.get("key")
    sessions = request.app[SESSIONS]
    session = sessions.sign_in(key.strip()) if isinstance(key, str) and key.strip() else None
    if session is None:
        return _form(
            request,
            next_page=next_page,
            error="That key is not valid. Check it, or ask for one.",
            status=401,
        )
    response = web.Response(status=303, headers={"Location": next_page})
    sessions.set_cookie(request, response, session)
    return response


@routes.post("/signout")
async def sign_out(request: web.Request) -> web.StreamResponse:
    sessions = request.app[SESSIONS]
    session = request.get(SESSION)
    if session is not None:
        sessions.sign_out(session)
    response = web.Response(status=303, headers={"Location": "/signin"})
    sessions.clear_cookie(request, response)
    return response


@routes.post(UPLOAD_PATH)
async def forward_upload(request: web.Request) -> web.StreamResponse:
    """The upload form's body, streamed to ingest's `POST /v1/jobs` with the session's key."""
    session = request.get(SESSION)
    key = presented_key(request) or (
        request.app[SESSIONS].key_of(session) if session is not None else None
    )
    if key is None:
        return web.json_response(
            {
                "error": "sign_in_again",
                "detail": "this session can no longer upload (the gallery restarted): sign in "
                "again, then upload",
            },
            status=401,
        )
    headers = {h: request.headers[h] for h in FORWARDED_HEADERS if h in request.headers}
    headers["Authorization"] = f"Bearer {key}"
    try:
        async with (
            aiohttp.ClientSession(timeout=UPLOAD_TIMEOUT) as http,
            http.post(request.app[INGEST_JOBS], data=request.content, headers=headers) as answer,
        ):
            body = await answer.read()
            return web.Response(
                status=answer.status,
                body=body,
                content_type=answer.content_type,
                headers={k: v for k, v in answer.headers.items() if k == "Retry-After"},
            )
    except (aiohttp.ClientError, TimeoutError) as e:
        log.warning("forwarding an upload to ingest failed: %s", type(e).__name__)
        return web.json_response(
            {
                "error": "ingest_unavailable",
                "detail": "the upload service did not answer; nothing was accepted: try again",
            },
            status=503,
            headers={"Retry-After": "5"},
        )


def gallery_upload_url(request: web.Request) -> str | None:
    """Where the upload form posts when sessions are on (None: straight to ingest)."""
    session = request.get(SESSION)
    if SESSIONS not in request.app or session is None:
        return None
    return str(URL(UPLOAD_PATH).with_query({CSRF_FIELD: session.csrf_token}))
