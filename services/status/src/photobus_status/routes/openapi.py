"""`GET /openapi.json`: the API's routes, described from the router itself so it cannot drift."""

from __future__ import annotations

import inspect
import re
from typing import Any

from aiohttp import web

_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {"description": 'Error: JSON {"error", "detail"}'}


async def openapi(request: web.Request) -> web.Response:
    paths: dict[str, dict[str, Any]] = {}
    for route in request.app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        path = route.resource.canonical
        paths.setdefault(path, {})[route.method.lower()] = _operation(path, route.handler)
    return web.json_response(
        {
            "openapi": "3.1.0",
            "info": {"title": "photobus status", "version": "1"},
            "paths": dict(sorted(paths.items())),
        }
    )


def _operation(path: str, handler: Any) -> dict[str, Any]:
    doc = inspect.getdoc(handler) or ""
    summary, _, description = doc.partition("\n")
    operation: dict[str, Any] = {
        "summary": summary or path,
        "responses": {"2XX": {"description": "Success"}, "4XX": _ERRORS, "5XX": _ERRORS},
    }
    if description.strip():
        operation["description"] = description.strip()
    params = _PARAM.findall(path)
    if params:
        operation["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in params
        ]
    return operation
