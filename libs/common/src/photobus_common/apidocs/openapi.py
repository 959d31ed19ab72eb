"""OpenAPI 3.1 documents from a table of operations and the pydantic models they reply with.

A service describes each route once (`Operation`): the handler (its docstring is the
summary), the request body and every reply's status and model. The JSON schemas come
from pydantic, so the document says what the code really sends.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from photobus_common.auth import PUBLIC_PATHS

JsonSchema = dict[str, Any]
REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"{(\w+)}")


class ErrorReply(BaseModel):
    """Every photobus error: a stable code and a sentence saying what to do."""

    error: str
    detail: str


class HealthReply(BaseModel):
    """`/healthz`: the process is alive."""

    status: str


class ReadinessReply(BaseModel):
    """`/readyz`: every dependency answered (200), or which did not and why (503)."""

    status: str
    failures: dict[str, str] | None = None


@dataclass(frozen=True)
class Reply:
    """One possible response: a status, and its JSON model or another media type."""

    status: int | str
    description: str
    model: type[BaseModel] | None = None
    media_type: str | tuple[str, ...] = "application/json"  # one, or any of several
    schema: JsonSchema | None = None  # for bodies that are not a model (images, streams)
    headers: tuple[str, ...] = ()


_UNAUTHORIZED = Reply(
    401,
    "PHOTOBUS_API_KEYS is set and the request has no valid key",
    ErrorReply,
    headers=("WWW-Authenticate",),
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Callable[..., Any]
    replies: tuple[Reply, ...]
    # media type -> model (JSON) or a literal schema (multipart forms)
    body: dict[str, type[BaseModel] | JsonSchema] = field(default_factory=dict)
    query: tuple[tuple[str, JsonSchema, str], ...] = ()  # (name, schema, description)
    path_schemas: dict[str, JsonSchema] = field(default_factory=dict)
    summary: str = ""  # when the handler has no docstring to say it


def openapi_document(
    *, title: str, version: str, description: str, operations: Sequence[Operation]
) -> dict[str, Any]:
    models = _models(operations)
    refs, definitions = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    by_model = {model: refs[(model, "serialization")] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(operations, key=lambda o: (o.path, o.method)):
        operation = _operation(op, by_model)
        if op.path not in PUBLIC_PATHS:
            operation["security"] = _SECURITY
            operation["responses"]["401"] = _response(_UNAUTHORIZED, by_model)
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    schemas = definitions.get("$defs", {})
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": _SECURITY_SCHEMES,
        },
    }


# With PHOTOBUS_API_KEYS set, every route but the public ones needs a key; without, none
# does (`{}`: no requirement).
_SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API key"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}, {}]


def _models(operations: Iterable[Operation]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"ErrorReply": ErrorReply}
    for op in operations:
        candidates = [r.model for r in op.replies] + list(op.body.values())
        for model in candidates:
            if isinstance(model, type) and issubclass(model, BaseModel):
                found[model.__qualname__] = model
    return [found[name] for name in sorted(found)]


def _operation(op: Operation, refs: dict[type[BaseModel], JsonSchema]) -> dict[str, Any]:
    doc = op.summary or inspect.getdoc(op.handler) or ""
    summary, _, description = doc.partition("\n")
    words = re.findall(r"\w+", op.path)
    operation: dict[str, Any] = {
        "operationId": "_".join([op.method.lower(), *words]) if words else op.method.lower(),
        "summary": summary or op.path,
    }
    if description.strip():
        operation["description"] = description.strip()
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": op.path_schemas.get(name, {"type": "string"}),
        }
        for name in _PARAM.findall(op.path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
        for name, schema, text in op.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if op.body:
        operation["requestBody"] = {
            "required": True,
            "content": {
                media: {"schema": refs[s] if isinstance(s, type) else s}
                for media, s in op.body.items()
            },
        }
    operation["responses"] = {str(r.status): _response(r, refs) for r in op.replies}
    return operation


def _response(reply: Reply, refs: dict[type[BaseModel], JsonSchema]) -> dict[str, Any]:
    response: dict[str, Any] = {"description": reply.description}
    schema = refs[reply.model] if reply.model is not None else reply.schema
    if schema is not None:
        types = (reply.media_type,) if isinstance(reply.media_type, str) else reply.media_type
        response["content"] = {media: {"schema": schema} for media in types}
    if reply.headers:
        response["headers"] = {h: {"schema": {"type": "string"}} for h in reply.headers}
    return response


def health_operations() -> tuple[Operation, ...]:
    """`/healthz` and `/readyz`, which every service serves (photobus_common.service)."""
    from photobus_common import service

    ready = Reply(200, "Ready: RabbitMQ, the database and the blob store answer", ReadinessReply)
    return (
        Operation(
            "GET",
            "/healthz",
            service._healthz,
            (Reply(200, "Alive", HealthReply),),
            summary="Liveness: the process answers.",
        ),
        Operation(
            "GET",
            "/readyz",
            service._readyz,
            (
                ready,
                Reply(503, "Not ready: `failures` says which dependency and why", ReadinessReply),
            ),
            summary="Readiness: every dependency answers.",
        ),
    )


def undocumented_routes(app: web.Application, operations: Iterable[Operation]) -> list[str]:
    """Routes the app serves that the operations leave out (HEAD and /metrics aside)."""
    documented = {(op.method.upper(), op.path) for op in operations}
    missing = []
    for route in app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        key = (route.method, route.resource.canonical)
        if key not in documented and key[1] != "/metrics":
            missing.append(f"{key[0]} {key[1]}")
    return sorted(missing)


def openapi_route(document: dict[str, Any]) -> Callable[[web.Request], Any]:
    """A `GET /openapi.json` handler serving `document` (serialised once)."""
    body = json.dumps(document, indent=2).encode()

    async def openapi(request: web.Request) -> web.Response:
        """This API's OpenAPI document."""
        return web.Response(body=body, content_type="application/json")

    return openapi
