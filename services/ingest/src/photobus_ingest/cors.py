"""Cross-origin uploads from the gallery, for when ingest and status have their own ports.

The gallery (status, :8081) posts its upload form to ingest (:8080) from script, which
browsers allow only when ingest names the gallery's origin. Behind one gateway both are
the same origin and none of this is used. Only listed origins get the headers; there
is no wildcard, and no credentials (the API's key travels in a header, never a cookie).

`PHOTOBUS_CORS_ORIGINS` (comma list) names the allowed origins; it defaults to the
status service's public URL, `PHOTOBUS_STATUS_PUBLIC_URL`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict
from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from yarl import URL

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = frozenset({"authorization", "content-type", "x-api-key"})
PREFLIGHT_MAX_AGE = "600"


class CorsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTOBUS_", env_file=".env", extra="ignore")

    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    status_public_url: str = "http://127.0.0.1:8081"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def origins(self) -> frozenset[str]:
        return allowed_origins(self.cors_origins or (self.status_public_url,))


def allowed_origins(urls: Iterable[str]) -> frozenset[str]:
    """`scheme://host[:port]` of each absolute http(s) URL (a path or trailing slash is
    dropped, as browsers send `Origin` without one)."""
    origins = set()
    for url in urls:
        parsed = URL(url.strip())
        if parsed.is_absolute() and parsed.scheme in ("http", "https"):
            origins.add(str(parsed.origin()))
    return frozenset(origins)


def with_cors(app: web.Application, origins: Iterable[str] | None = None) -> None:
    """Answer preflights and let the listed origins read ingest's answers.

    Without `origins`, they come from `CorsSettings` (the environment). The middleware
    runs first, so it also marks the error answers other middlewares make.
    """
    allowed = allowed_origins(origins) if origins is not None else CorsSettings().origins
    app.middlewares.insert(0, cors_middleware(allowed))


def cors_middleware(allowed: frozenset[str]) -> Middleware:
    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None:
            return await handler(request)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return _preflight(request, origin, allowed)
        try:
            response = await handler(request)
        except web.HTTPException as e:
            _mark(e.headers, origin, allowed)
            raise
        _mark(response.headers, origin, allowed)
        return response

    return cors


def _mark(headers: CIMultiDict[str], origin: str, allowed: frozenset[str]) -> None:
    headers.add("Vary", "Origin")
    if origin in allowed:
        headers["Access-Control-Allow-Origin"] = origin


def _preflight(request: web.Request, origin: str, allowed: frozenset[str]) -> web.Response:
    if origin not in allowed:
        response = web.Response(status=403, text="This origin may not call photobus ingest.")
        response.headers["Vary"] = "Origin"
        return response
    asked = request.headers.get("Access-Control-Request-Headers", "")
    headers = [h.strip() for h in asked.split(",") if h.strip().lower() in ALLOWED_HEADERS]
    response = web.Response(status=204)
    response.headers.update(
        {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ALLOWED_METHODS,
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            "Vary": "Origin",
        }
    )
    if headers:
        response.headers["Access-Control-Allow-Headers"] = ", ".join(headers)
    return response
