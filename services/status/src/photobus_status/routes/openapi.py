"""`GET /openapi.json`: the status API, generated from the models its queries return
(photobus_status.apidoc; docs/openapi-status.json is the checked-in copy)."""

from __future__ import annotations

from aiohttp import web


async def openapi(request: web.Request) -> web.Response:
    # Imported here: the document names the route handlers, which import this module's package.
    from photobus_status.apidoc import openapi_spec

    return web.json_response(openapi_spec())
