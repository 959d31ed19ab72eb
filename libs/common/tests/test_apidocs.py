"""photobus_common.apidocs: OpenAPI from operation tables and models, AsyncAPI from the events."""

from __future__ import annotations

from aiohttp import web
from photobus_common.apidocs import (
    ErrorReply,
    Operation,
    Reply,
    asyncapi_document,
    health_operations,
    openapi_document,
    undocumented_routes,
)
from photobus_common.topology import STATUS, THUMBNAILER
from pydantic import BaseModel


class Thing(BaseModel):
    thing_id: str
    size: int | None = None


class NewThing(BaseModel):
    name: str


async def get_thing(request: web.Request) -> web.Response:
    """One thing.

    Looked up by its id.
    """
    return web.json_response({})


async def post_thing(request: web.Request) -> web.Response:
    return web.json_response({})


OPERATIONS = (
    Operation("GET", "/things/{thing_id}", get_thing,
              (Reply(200, "The thing", Thing), Reply(404, "No such thing", ErrorReply))),
    Operation("POST", "/things", post_thing, (Reply(201, "Made", Thing),),
              body={"application/json": NewThing}, summary="Make a thing."),
    *health_operations(),
)  # fmt: skip


def test_operations_reference_the_models_schemas() -> None:
    doc = openapi_document(title="t", version="1", description="d", operations=OPERATIONS)

    get = doc["paths"]["/things/{thing_id}"]["get"]
    assert (get["summary"], get["description"]) == ("One thing.", "Looked up by its id.")
    assert get["parameters"][0] == {
        "name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}
    }  # fmt: skip
    assert get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    post = doc["paths"]["/things"]["post"]
    assert post["summary"] == "Make a thing."
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewThing"
    }
    schemas = doc["components"]["schemas"]
    assert {"Thing", "NewThing", "ErrorReply", "HealthReply", "ReadinessReply"} <= set(schemas)
    assert schemas["Thing"]["required"] == ["thing_id"]


def test_routes_need_a_key_but_health_does_not() -> None:
    doc = openapi_document(title="t", version="1", description="d", operations=OPERATIONS)

    assert "401" in doc["paths"]["/things"]["post"]["responses"]
    assert {} in doc["paths"]["/things"]["post"]["security"]  # only once keys are configured
    assert "security" not in doc["paths"]["/healthz"]["get"]
    assert "401" not in doc["paths"]["/readyz"]["get"]["responses"]


def test_undocumented_routes_are_named() -> None:
    app = web.Application()
    app.router.add_get("/things/{thing_id}", get_thing)
    app.router.add_post("/things", post_thing)
    app.router.add_delete("/things/{thing_id}", post_thing)
    app.router.add_get("/metrics", get_thing)

    assert undocumented_routes(app, OPERATIONS) == ["DELETE /things/{thing_id}"]


def test_asyncapi_routes_each_event_to_the_queues_bound_to_it() -> None:
    doc = asyncapi_document(consumers=[THUMBNAILER, STATUS])

    assert doc["asyncapi"] == "3.0.0"
    thumbnailer = doc["channels"]["thumbnailer"]
    assert set(thumbnailer["messages"]) == {"PhotoReceived", "ThumbnailRequested"}
    assert thumbnailer["address"] == "{namespace}.thumbnailer"
    assert set(doc["channels"]["status"]["messages"]) == set(doc["components"]["messages"])
    received = doc["components"]["messages"]["PhotoReceived"]
    assert received["name"] == "photo.received"
    assert received["payload"] == {"$ref": "#/components/schemas/PhotoReceived"}
    assert "PhotoReceived" in doc["components"]["schemas"]
