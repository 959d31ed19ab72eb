"""Cross-origin uploads: only the gallery's origin may read ingest's answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from photobus_ingest.cors import CorsSettings, allowed_origins, with_cors
from photobus_ingest.routes.errors import json_errors

GALLERY = "http://127.0.0.1:8081"


async def accepted(request: web.Request) -> web.Response:
    return web.json_response({"job_id": "j"}, status=202)


async def refused(request: web.Request) -> web.Response:
    raise web.HTTPRequestEntityTooLarge(max_size=1, actual_size=2)


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application(middlewares=[json_errors])
    app.router.add_post("/v1/jobs", accepted)
    app.router.add_post("/too-big", refused)
    with_cors(app, [f"{GALLERY}/"])  # a trailing slash is not part of an origin
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_the_gallery_may_read_the_answer_to_its_upload(
    client: TestClient[Any, Any],
) -> None:
    response = await client.post("/v1/jobs", headers={"Origin": GALLERY})

    assert response.status == 202
    assert response.headers["Access-Control-Allow-Origin"] == GALLERY
    assert "Origin" in response.headers.getall("Vary")


async def test_error_answers_are_readable_too(client: TestClient[Any, Any]) -> None:
    response = await client.post("/too-big", headers={"Origin": GALLERY})

    assert response.status == 413
    assert response.headers["Access-Control-Allow-Origin"] == GALLERY


async def test_other_origins_and_plain_clients_get_no_grant(
    client: TestClient[Any, Any],
) -> None:
    other = await client.post("/v1/jobs", headers={"Origin": "https://evil.example"})
    plain = await client.post("/v1/jobs")

    assert (other.status, plain.status) == (202, 202)  # the browser withholds it, not us
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Origin" not in plain.headers


async def test_preflights_are_answered_for_allowed_origins_only(
    client: TestClient[Any, Any],
) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, X-Secret",
    }

    allowed = await client.options("/v1/jobs", headers={"Origin": GALLERY, **asked})
    denied = await client.options("/v1/jobs", headers={"Origin": "https://evil.example", **asked})

    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == GALLERY
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Headers"] == "Authorization"
    assert denied.status == 403
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_origins_default_to_the_status_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOBUS_CORS_ORIGINS", raising=False)
    monkeypatch.setenv("PHOTOBUS_STATUS_PUBLIC_URL", "https://photos.example/status/")
    assert CorsSettings().origins == {"https://photos.example"}

    monkeypatch.setenv("PHOTOBUS_CORS_ORIGINS", "http://a.example:81, https://b.example/")
    assert CorsSettings().origins == {"http://a.example:81", "https://b.example"}
    assert allowed_origins(["/relative", "ftp://x.example"]) == frozenset()
