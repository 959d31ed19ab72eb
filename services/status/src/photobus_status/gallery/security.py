"""The gallery's response headers and its guard against cross-site form posts.

Pages are server-rendered with autoescaping and load only this origin's script and
styles; the one other origin they talk to is ingest (the upload form posts there when
ingest and status are on different origins, e.g. ports 8080 and 8081).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from yarl import URL


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute URL; None for a relative one (same origin)."""
    parsed = URL(url)
    if not parsed.is_absolute() or parsed.scheme not in ("http", "https"):
        return None
    return str(parsed.origin())


def content_security_policy(ingest_url: str) -> str:
    ingest = origin_of(ingest_url)
    also = f" {ingest}" if ingest else ""
    return "; ".join(
        (
            "default-src 'self'",
            "img-src 'self' data:",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src 'self'{also}",
            f"form-action 'self'{also}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def security_headers(ingest_url: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(ingest_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def with_security_headers(app: web.Application, headers: Mapping[str, str]) -> None:
    """Add the headers to every response the app sends, errors and static files too.

    A signal rather than a middleware: it also sees responses other middlewares made
    from exceptions. The API's JSON answers carry them harmlessly.
    """

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    app.on_response_prepare.append(add)


def is_same_origin(request: web.Request) -> bool:
    """Whether a state-changing form post comes from this site's own pages.

    Browsers send `Sec-Fetch-Site` (recent ones) and `Origin` on every POST; a post
    with neither comes from a non-browser client, which a CSRF attack cannot be.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        # Set by the browser itself; trusted even behind a proxy that changes scheme or host.
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"
