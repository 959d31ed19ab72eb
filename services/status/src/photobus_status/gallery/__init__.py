"""The web gallery, served by status at `/`: see `photobus_status.gallery.routes`."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from photobus_status.config import StatusSettings
from photobus_status.gallery import present, routes
from photobus_status.gallery.security import security_headers, with_security_headers

HERE = Path(__file__).parent
STATIC_PREFIX = "/gallery/static"


def setup_gallery(app: web.Application, settings: StatusSettings) -> None:
    """Add the gallery's pages, templates, static files and security headers to `app`."""
    env = aiohttp_jinja2.setup(
        app,
        app_key=routes.TEMPLATES,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every page, every value: user text is never markup
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    env.globals |= {"badge": present.badge, "in_order": present.in_order, "static": STATIC_PREFIX}
    env.filters |= {"when": present.when, "size": present.size, "camera": present.camera}
    app.add_routes(routes.routes)
    app.router.add_static(STATIC_PREFIX, HERE / "static")
    with_security_headers(app, security_headers(settings.ingest_public_url))
