"""The URL-fetch worker, end to end: POST URLs, the worker fetches, photo.* events follow."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from photobus_common.broker import Delivery
from photobus_common.events import FetchRequested, ItemOptions, PhotoReceived, PhotoRejected
from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings
from photobus_ingest.fetch_worker import open_fetch_worker
from photobus_ingest.routes.context import INGEST

from .conftest import CORPUS, EventTap, start_client

PHOTO = CORPUS / "camera" / "Samsung_Digimax_i50_MP3.jpg"
Client = TestClient[web.Request, web.Application]


@dataclass
class PhotoHost:
    """A web server holding one photo, a text file and a 404, counting its hits."""

    server: TestServer
    hits: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


async def _photo_host(host: str) -> PhotoHost:
    app = web.Application()
    photo_host = PhotoHost(TestServer(app, host=host))

    async def photo(request: web.Request) -> web.StreamResponse:
        photo_host.hits.append(request.path)
        return web.Response(body=PHOTO.read_bytes(), content_type="image/jpeg")

    async def text(request: web.Request) -> web.StreamResponse:
        photo_host.hits.append(request.path)
        return web.Response(text="not a photo")

    app.router.add_get("/photos/samsung.jpg", photo)
    app.router.add_get("/notes.txt", text)
    await photo_host.server.start_server()
    return photo_host


@pytest.fixture
async def allowed_host() -> AsyncIterator[PhotoHost]:
    host = await _photo_host("127.0.0.2")
    yield host
    await host.server.close()


@pytest.fixture
async def private_host() -> AsyncIterator[PhotoHost]:
    host = await _photo_host("127.0.0.1")
    yield host
    await host.server.close()


@pytest.fixture
async def fetching_client(settings: IngestSettings, tap: EventTap) -> AsyncIterator[Client]:
    allowing = settings.model_copy(update={"fetch_allow_networks": ("127.0.0.2/32",)})
    client = await start_client(create_app(allowing))
    yield client
    await client.close()


def _outcomes(tap: EventTap, job_id: str) -> dict[str, PhotoReceived | PhotoRejected]:
    return {
        e.item_id: e for e in tap.of_job(job_id) if isinstance(e, PhotoReceived | PhotoRejected)
    }


async def test_urls_are_fetched_checked_and_announced(
    fetching_client: Client,
    tap: EventTap,
    allowed_host: PhotoHost,
    private_host: PhotoHost,
    blob_dir: Path,
) -> None:
    good = allowed_host.url("/photos/samsung.jpg")
    urls = [good, allowed_host.url("/notes.txt"), allowed_host.url("/missing.jpg")]
    urls.append(private_host.url("/photos/samsung.jpg"))
    response = await fetching_client.post(
        "/v1/jobs", json={"urls": urls, "tags": ["web"], "destinations": ["imgur"]}
    )
    assert response.status == 202
    body = await response.json()
    items = {i["url"]: i["item_id"] for i in body["items"]}

    await tap.wait_for(lambda _: len(_outcomes(tap, body["job_id"])) == 4)

    outcomes = _outcomes(tap, body["job_id"])
    received = outcomes[items[good]]
    assert isinstance(received, PhotoReceived)
    assert received.photo_id == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
    assert received.source_url == good
    assert received.filename == "samsung.jpg"
    assert received.content_type == "image/jpeg"
    assert received.size == PHOTO.stat().st_size
    assert received.options.tags == ("web",)
    assert received.options.destinations == ("imgur",)
    assert (blob_dir / received.blob_key).read_bytes() == PHOTO.read_bytes()
    reasons = {url: getattr(outcomes[item], "reason", None) for url, item in items.items()}
    assert reasons[urls[1]] == "not_an_image"
    assert reasons[urls[2]] == "fetch_failed"
    assert reasons[urls[3]] == "blocked_address"
    assert private_host.hits == []
    assert list((blob_dir / ".spool").iterdir()) == []


async def test_a_redelivered_fetch_has_the_same_outcome(
    fetching_client: Client, tap: EventTap, allowed_host: PhotoHost
) -> None:
    ingest = fetching_client.app[INGEST]
    request = FetchRequested(
        producer="test",
        job_id="job-redelivered",
        item_id="item-1",
        url=allowed_host.url("/photos/samsung.jpg"),
        options=ItemOptions(),
    )
    delivery = Delivery(queue="q", attempt=1, max_attempts=5, redelivered=True, retry_delays=(1.0,))
    async with open_fetch_worker(ingest) as worker:
        await worker(request, delivery)
        await worker(request, delivery)

    events = await tap.wait_for(lambda es: len(es) == 2)
    assert all(isinstance(e, PhotoReceived) for e in events)
    assert len({e.photo_id for e in events if isinstance(e, PhotoReceived)}) == 1
    assert {e.item_id for e in events if isinstance(e, PhotoReceived)} == {"item-1"}
