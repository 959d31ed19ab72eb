"""ImgurDestination against the fake Imgur (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from photobus_common.events import ItemOptions
from photobus_common.publishing import PermanentError, PreparedPhoto, TransientError
from photobus_common.publishing.prepare import prepare
from photobus_common.publishing.settings import PublisherSettings
from photobus_common.publishing.testing import MemoryAlbumBook
from photobus_publisher_imgur.destination import ImgurDestination
from PIL import Image

from tests.fakes import FakeImgur, Fault, FaultPlan
from tests.fakes.credentials import ImgurCredentials, default_imgur

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
OPTIONS = ItemOptions(title="Harbour at dawn", description="Boats", tags=("sea",), album="Trip")


def photo(path: str, options: ItemOptions = OPTIONS) -> PreparedPhoto:
    data = (CORPUS / path).read_bytes()
    return prepare(data, hashlib.sha256(data).hexdigest(), options)


@pytest.fixture
async def fake() -> AsyncIterator[FakeImgur]:
    async with default_imgur() as server:
        yield server


def settings_for(fake: FakeImgur, **overrides: str) -> PublisherSettings:
    creds = ImgurCredentials()
    values = {
        "imgur_api_url": fake.url,
        "imgur_client_id": creds.client_id,
        "imgur_client_secret": creds.client_secret,
        "imgur_refresh_token": creds.refresh_token,
        "destination_timeout": 5,
        **overrides,
    }
    return PublisherSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def imgur(fake: FakeImgur) -> AsyncIterator[ImgurDestination]:
    destination = ImgurDestination(settings_for(fake), MemoryAlbumBook())
    await destination.start()
    yield destination
    await destination.close()


async def test_upload_carries_title_description_and_the_album_created_once(
    fake: FakeImgur, imgur: ImgurDestination
) -> None:
    first = photo("camera/Canon_40D.jpg")
    second = photo("camera/Nikon_D70.jpg")
    published = [await imgur.upload(first), await imgur.upload(second)]

    assert [u.remote_id for u in fake.uploads] == [p.remote_id for p in published]
    assert published[0].url.startswith("https://i.imgur.com/")
    fields = fake.uploads[0].fields
    assert (fields["title"], fields["description"], fields["name"]) == (
        "Harbour at dawn",
        "Boats",
        first.photo_id,
    )
    [album] = [r for r in fake.requests if r.path == "/3/album"]
    assert album.field("title") == "Trip"
    assert album.status == 200
    assert fields["album"] == fake.uploads[1].fields["album"]
    uploads = [r for r in fake.requests if r.path == "/3/image"]
    assert all(r.headers["Authorization"].startswith("Bearer ") for r in uploads)


async def test_heic_is_received_as_jpeg(fake: FakeImgur, imgur: ImgurDestination) -> None:
    await imgur.upload(photo("heic/IMG_5195.HEIC"))
    [upload] = fake.uploads
    assert upload.content_type == "image/jpeg"


@pytest.mark.parametrize("name", ["DSCN0010.jpg", "DSCN0012.jpg"])
async def test_gps_photos_arrive_without_location(
    fake: FakeImgur, imgur: ImgurDestination, name: str
) -> None:
    published = await imgur.upload(photo(f"gps/{name}"))
    received = fake.contents[published.remote_id]
    with Image.open(io.BytesIO(received)) as image:
        assert 0x8825 not in image.getexif()
    assert b"GPS" not in received


async def test_an_expired_token_is_refreshed_once(fake: FakeImgur, imgur: ImgurDestination) -> None:
    await imgur.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    fake.expire_access_tokens()
    await imgur.upload(photo("camera/Nikon_D70.jpg", ItemOptions()))

    assert len(fake.uploads) == 2
    assert len([r for r in fake.requests if r.path == "/oauth2/token"]) == 2
    refused = [r for r in fake.requests if r.path == "/3/image" and r.status == 403]
    assert len(refused) == 1


async def test_a_wrong_refresh_token_is_invalid_credentials(fake: FakeImgur) -> None:
    destination = ImgurDestination(
        settings_for(fake, imgur_refresh_token="nope"), MemoryAlbumBook()
    )
    await destination.start()
    try:
        with pytest.raises(PermanentError, match="invalid credentials: Invalid refresh token"):
            await destination.upload(photo("camera/Canon_40D.jpg"))
    finally:
        await destination.close()
    assert fake.uploads == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (Fault.status(429, retry_after="2", shape="legacy"), "HTTP 429"),
        (Fault.status(429, retry_after="2", shape="errors"), "HTTP 429: Too Many Requests"),
        (Fault.status(500), "HTTP 500"),
    ],
)
async def test_throttling_and_server_errors_are_transient(
    fake: FakeImgur, imgur: ImgurDestination, fault: Fault, message: str
) -> None:
    fake.faults = FaultPlan(queue=[fault])
    with pytest.raises(TransientError) as raised:
        await imgur.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    assert raised.value.reason.startswith(message)
    if fault.retry_after:
        assert raised.value.retry_after is not None and raised.value.retry_after >= 2


async def test_a_refused_image_is_permanent_with_imgurs_message(
    fake: FakeImgur, imgur: ImgurDestination
) -> None:
    fake.faults = FaultPlan(queue=[Fault.permanent()])
    with pytest.raises(PermanentError, match=r"HTTP 400: File type invalid \(1\)"):
        await imgur.upload(photo("camera/Canon_40D.jpg", ItemOptions()))


async def test_find_existing_looks_through_the_accounts_images(
    fake: FakeImgur, imgur: ImgurDestination
) -> None:
    sent = photo("camera/Canon_40D.jpg", ItemOptions())
    published = await imgur.upload(sent)
    await imgur.upload(photo("camera/Nikon_D70.jpg", ItemOptions()))

    assert await imgur.find_existing(sent.photo_id) == published
    assert await imgur.find_existing("0" * 64) is None


async def test_unconfigured_without_credentials() -> None:
    settings = PublisherSettings(imgur_client_id=None, imgur_refresh_token=None)
    assert not ImgurDestination(settings, MemoryAlbumBook()).is_configured


async def test_a_spent_rate_budget_waits_for_its_reset_without_calling(
    fake: FakeImgur, imgur: ImgurDestination
) -> None:
    fake.credits.post_remaining = 1  # this upload spends the last POST of the hour
    await imgur.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    calls = len(fake.requests)

    with pytest.raises(TransientError, match="rate limit") as raised:
        await imgur.upload(photo("camera/Nikon_D70.jpg", ItemOptions()))
    assert raised.value.retry_after is not None and raised.value.retry_after > 60
    assert len(fake.requests) == calls
