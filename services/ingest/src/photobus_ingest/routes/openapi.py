"""`GET /openapi.json`: the upload API, generated from the routes' reply models
(photobus_ingest.apidoc; docs/openapi-ingest.json is the checked-in copy)."""

from __future__ import annotations

from aiohttp import web


async def openapi(request: web.Request) -> web.Response:
    # Imported here: the document names the route handlers, which import this module's package.
    from photobus_ingest.apidoc import openapi_spec

    return web.json_response(openapi_spec())
