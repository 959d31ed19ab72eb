"""The seed projects' curl examples keep working, with the same durability rule."""

from __future__ import annotations

import hashlib

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient
from photobus_common.events import FetchRequested, JobAccepted, PhotoReceived

from .conftest import CORPUS, EventTap

Client = TestClient[web.Request, web.Application]
PHOTO = CORPUS / "camera" / "Kodak_CX7530.jpg"


async def test_imgur_seed_upload_of_urls(client: Client, tap: EventTap) -> None:
    # curl -X POST -H "Content-Type: application/json" -d '{"urls" : [...]}' .../v1/images/upload
    urls = ["https://i.imgur.com/gAGub9k.jpg", "https://www.factslides.com/imgs/black-cat.jpg"]
    response = await client.post(
        "/v1/images/upload",
        data=f'{{"urls" : ["{urls[0]}", "{urls[1]}"]}}'.encode(),
        headers={"Content-Type": "application/json"},
    )

    assert response.status == 200
    body = await response.json()
    assert list(body) == ["job_id"]
    events = await tap.wait_for(lambda es: len(es) >= 3)
    assert isinstance(events[0], JobAccepted)
    assert events[0].job_id == body["job_id"]
    fetches = [e for e in tap.of_job(body["job_id"]) if isinstance(e, FetchRequested)]
    assert sorted(e.url for e in fetches) == sorted(urls)


async def test_mediascream_seed_photo_upload(client: Client, tap: EventTap) -> None:
    # curl -X POST -F "photo_file=@DSC00647.JPG" -F "tags=vegas,travel" -F "skip=gphotos" .../photos/
    form = aiohttp.FormData()
    form.add_field("photo_file", PHOTO.read_bytes(), filename="DSC00647.JPG")
    form.add_field("tags", "vegas,travel")
    form.add_field("skip", "gphotos,s3")

    response = await client.post("/photos/", data=form)

    assert response.status == 202
    body = await response.json()
    assert body["items"][0]["photo_id"] == hashlib.sha256(PHOTO.read_bytes()).hexdigest()
    events = await tap.wait_for(lambda es: len(es) >= 2)
    received = next(e for e in events if isinstance(e, PhotoReceived))
    assert received.filename == "DSC00647.JPG"
    assert received.options.tags == ("vegas", "travel")
    assert received.options.destinations == ("imgur", "flickr")


async def test_mediascream_seed_plain_upload_goes_everywhere(client: Client, tap: EventTap) -> None:
    # curl -X POST -F "photo_file=@DSC00647.JPG" .../photos/
    form = aiohttp.FormData()
    form.add_field("photo_file", PHOTO.read_bytes(), filename="DSC00647.JPG")

    response = await client.post("/photos/", data=form)

    assert response.status == 202
    events = await tap.wait_for(lambda es: len(es) >= 2)
    received = next(e for e in events if isinstance(e, PhotoReceived))
    assert received.options.destinations == ("imgur", "flickr", "gphotos")
    assert received.options.strip_location is True
