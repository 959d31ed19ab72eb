"""docs/ holds the API documents exactly as the code generates them (run
`uv run python tools/gen_docs.py` after changing a route, a reply model or an event),
and they describe every route the services serve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from photobus_common.apidocs import undocumented_routes
from photobus_common.events import EVENT_ADAPTER
from photobus_common.topology import deployment_specs
from photobus_ingest.apidoc import operations as ingest_operations
from photobus_ingest.app import create_app as create_ingest
from photobus_ingest.config import IngestSettings
from photobus_status.apidoc import operations as status_operations
from photobus_status.app import create_app as create_status
from photobus_status.config import StatusSettings

from tools.gen_docs import DOCS, documents, render


@pytest.mark.parametrize("name", sorted(documents()))
def test_the_checked_in_document_is_what_the_code_generates(name: str) -> None:
    checked_in = DOCS / name
    assert checked_in.exists(), f"run `uv run python tools/gen_docs.py` to write docs/{name}"
    assert checked_in.read_text() == render(documents()[name]()), (
        f"docs/{name} is out of date: run `uv run python tools/gen_docs.py` and commit it"
    )


def local_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from local_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from local_refs(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


@pytest.mark.parametrize("name", sorted(documents()))
def test_every_reference_resolves(name: str) -> None:
    document = json.loads((DOCS / name).read_text())
    refs = set(local_refs(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        resolve(document, ref)


@pytest.mark.parametrize(
    ("app", "operations"),
    [
        pytest.param(
            lambda tmp: create_ingest(IngestSettings(blob_url=f"file://{tmp}")),
            ingest_operations,
            id="ingest",
        ),
        pytest.param(
            lambda tmp: create_status(StatusSettings(blob_url=f"file://{tmp}")),
            status_operations,
            id="status",
        ),
    ],
)
def test_every_api_route_is_documented(app: Any, operations: Any, tmp_path: Path) -> None:
    built: web.Application = app(tmp_path)
    missing = undocumented_routes(built, operations())
    # The gallery's HTML pages are not part of the JSON API.
    assert [r for r in missing if r.split(" ", 1)[1].startswith("/v1/")] == []


def test_the_asyncapi_document_covers_every_event_and_consumer() -> None:
    document = json.loads((DOCS / "asyncapi.json").read_text())
    event_types = set(EVENT_ADAPTER.json_schema()["discriminator"]["mapping"])
    assert {m["name"] for m in document["components"]["messages"].values()} == event_types
    for spec in deployment_specs():
        operation = document["operations"][f"receive-{spec.service}"]
        assert operation["action"] == "receive"
        assert operation["messages"], spec.service
    flickr = document["channels"]["publisher-flickr"]["messages"]
    assert set(flickr) == {"PhotoReceived", "PublishRequested"}
