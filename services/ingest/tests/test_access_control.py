"""Ingest with `PHOTOBUS_API_KEYS`: every upload route needs a key, and the key's name
travels in the events as the owner of the job and its photos."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from photobus_common.auth import hash_key
from photobus_common.events import FetchRequested, JobAccepted, PhotoReceived, PhotoRejected
from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings
from pydantic import SecretStr

from .conftest import CORPUS, EventTap, start_client

Client = TestClient[web.Request, web.Application]

ALICE_KEY = "alice-ingest-key-6a1f0c"
BOB_KEY = "bob-ingest-key-93be27"
PHOTO = CORPUS / "camera" / "Canon_40D.jpg"


@pytest.fixture
async def keyed(settings: IngestSettings, tap: EventTap) -> AsyncIterator[Client]:
    keys = f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}"
    client = await start_client(
        create_app(settings.model_copy(update={"api_keys": SecretStr(keys)}))
    )
    yield client
    await client.close()


def photo_form() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("files", PHOTO.read_bytes(), filename=PHOTO.name)
    return form


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/v1/jobs", "files"),
        ("/v1/jobs", "urls"),
        ("/photos/", "files"),
        ("/v1/images/upload", "urls"),
    ],
)
async def test_every_upload_route_needs_a_key(
    keyed: Client, tap: EventTap, path: str, kind: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-key-secret"}, {"X-API-Key": "nope"}):
        if kind == "files":
            form = aiohttp.FormData()
            form.add_field("photo_file" if path == "/photos/" else "files", b"x", filename="a.jpg")
            response = await keyed.post(path, data=form, headers=headers)
        else:
            response = await keyed.post(
                path, json={"urls": ["http://example.com/a.jpg"]}, headers=headers
            )
        assert response.status == 401, (path, headers)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.json()
        assert body["error"] == "unauthorized"
        assert "not-a-key-secret" not in str(body)
    assert tap.events == []  # nothing was accepted


async def test_the_keys_name_owns_the_job_and_its_events(keyed: Client, tap: EventTap) -> None:
    response = await keyed.post(
        "/v1/jobs", data=photo_form(), headers={"Authorization": f"Bearer {ALICE_KEY}"}
    )
    assert response.status == 202, await response.text()
    job_id = (await response.json())["job_id"]
    urls = await keyed.post(
        "/v1/jobs",
        json={"urls": ["https://example.com/a.jpg"]},
        headers={"X-API-Key": BOB_KEY},
    )
    assert urls.status == 202, await urls.text()
    url_job = (await urls.json())["job_id"]

    events = await tap.wait_for(lambda es: len(es) >= 4)
    accepted = {e.job_id: e for e in events if isinstance(e, JobAccepted)}
    assert accepted[job_id].owner == "alice"
    assert accepted[url_job].owner == "bob"
    received = [e for e in events if isinstance(e, PhotoReceived)]
    assert [e.owner for e in received] == ["alice"]
    fetches = [e for e in events if isinstance(e, FetchRequested)]
    assert [e.owner for e in fetches] == ["bob"]


async def test_credentials_in_a_url_go_nowhere(keyed: Client, tap: EventTap) -> None:
    url = "https://someone:hunter2-url-password@example.com/photo.jpg"
    response = await keyed.post("/v1/jobs", json={"urls": [url]}, headers={"X-API-Key": ALICE_KEY})
    assert response.status == 202
    text = await response.text()
    assert "hunter2-url-password" not in text
    events = await tap.wait_for(lambda es: any(isinstance(e, PhotoRejected) for e in es))
    assert all("hunter2-url-password" not in e.model_dump_json() for e in events)
    [rejected] = [e for e in events if isinstance(e, PhotoRejected)]
    assert rejected.reason == "bad_url"
    [accepted] = [e for e in events if isinstance(e, JobAccepted)]
    assert accepted.items[0].url == "https://example.com/photo.jpg"


async def test_health_readiness_metrics_and_the_document_stay_open(keyed: Client) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        response = await keyed.get(path)
        assert response.status == 200, path
