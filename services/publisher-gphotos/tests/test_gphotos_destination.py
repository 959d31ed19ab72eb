"""GooglePhotosDestination (google-auth + aiohttp) against the fake Google Photos."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from photobus_common.events import ItemOptions
from photobus_common.publishing import (
    PermanentError,
    PreparedPhoto,
    Published,
    TransientError,
)
from photobus_common.publishing.prepare import prepare
from photobus_common.publishing.settings import PublisherSettings
from photobus_common.publishing.testing import MemoryAlbumBook
from photobus_publisher_gphotos.destination import (
    GooglePhotosDestination,
    batch_outcomes,
    description_of,
)
from PIL import Image

from tests.fakes import FakeGooglePhotos, Fault, FaultPlan
from tests.fakes.credentials import GooglePhotosCredentials, default_gphotos

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
OPTIONS = ItemOptions(
    title="Harbour at dawn", description="Boats", tags=("sea", "fishing boats"), album="Trip"
)


def photo(path: str, options: ItemOptions = OPTIONS) -> PreparedPhoto:
    data = (CORPUS / path).read_bytes()
    return prepare(data, hashlib.sha256(data).hexdigest(), options)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGooglePhotos]:
    async with default_gphotos() as server:
        yield server


def settings_for(fake: FakeGooglePhotos, **overrides: object) -> PublisherSettings:
    creds = GooglePhotosCredentials()
    values: dict[str, object] = {
        "gphotos_client_id": creds.client_id,
        "gphotos_client_secret": creds.client_secret,
        "gphotos_refresh_token": creds.refresh_token,
        "gphotos_token_url": f"{fake.url}/token",
        "gphotos_api_url": fake.url,
        "destination_timeout": 5,
        **overrides,
    }
    return PublisherSettings(**values)  # type: ignore[arg-type]


async def started(settings: PublisherSettings) -> GooglePhotosDestination:
    destination = GooglePhotosDestination(settings, MemoryAlbumBook())
    await destination.start()
    return destination


@pytest.fixture
async def gphotos(fake: FakeGooglePhotos) -> AsyncIterator[GooglePhotosDestination]:
    destination = await started(settings_for(fake))
    yield destination
    await destination.close()


def test_the_description_holds_title_description_and_tags_within_1000_chars() -> None:
    sent = photo("camera/Canon_40D.jpg")
    assert description_of(sent) == "Harbour at dawn\nBoats\n#sea #fishingboats"
    long = photo("camera/Canon_40D.jpg", ItemOptions(description="x" * 2000))
    assert len(description_of(long)) == 1000


async def test_upload_creates_the_item_in_an_album_made_once(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    first, second = photo("camera/Canon_40D.jpg"), photo("camera/Nikon_D70.jpg")
    published = [await gphotos.upload(first), await gphotos.upload(second)]

    assert [u.remote_id for u in fake.uploads] == [p.remote_id for p in published]
    assert published[0].url.startswith("https://photos.google.com/")
    fields = fake.uploads[0].fields
    assert fields["filename"] == f"{first.photo_id}.jpg"
    assert fields["description"] == "Harbour at dawn\nBoats\n#sea #fishingboats"
    assert fields["albumId"] == fake.uploads[1].fields["albumId"]
    assert len([r for r in fake.requests if r.path == "/v1/albums"]) == 1
    raw = [r for r in fake.requests if r.path == "/v1/uploads"]
    assert raw[0].headers["X-Goog-Upload-Protocol"] == "raw"
    assert raw[0].headers["X-Goog-Upload-Content-Type"] == "image/jpeg"


async def test_gps_photos_arrive_without_location(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    published = await gphotos.upload(photo("gps/DSCN0012.jpg"))
    with Image.open(io.BytesIO(fake.contents[published.remote_id])) as image:
        assert 0x8825 not in image.getexif()


async def test_a_207_with_mixed_results_is_read_item_by_item(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    fake.faults = FaultPlan(multi_status=True)
    good = await gphotos._upload_bytes(photo("camera/Canon_40D.jpg"))
    items = [
        {"simpleMediaItem": {"uploadToken": token, "fileName": "x.jpg"}}
        for token in (good, "never-uploaded")
    ]
    answer = await gphotos._api("POST", "/v1/mediaItems:batchCreate", json={"newMediaItems": items})
    assert answer.status == 207

    outcomes = batch_outcomes(answer, [good, "never-uploaded"])
    assert isinstance(outcomes[good], Published)
    failed = outcomes["never-uploaded"]
    assert isinstance(failed, PermanentError)
    assert "status 3" in failed.reason


async def test_item_errors_quota_is_transient_and_invalid_argument_permanent(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    fake.faults = FaultPlan(queue=[Fault.error(8, route="create"), Fault.permanent(route="create")])
    with pytest.raises(TransientError, match="status 8"):
        await gphotos.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    with pytest.raises(PermanentError, match="status 3: Failed: There was an error"):
        await gphotos.upload(photo("camera/Canon_40D.jpg", ItemOptions()))


async def test_429_on_the_byte_upload_honours_retry_after(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    fake.faults = FaultPlan(queue=[Fault.status(429, retry_after="2", route="upload")])
    with pytest.raises(TransientError) as raised:
        await gphotos.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    assert raised.value.retry_after == 2


async def test_an_expired_access_token_is_refreshed_once(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    await gphotos.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    fake.expire_access_tokens()
    await gphotos.upload(photo("camera/Nikon_D70.jpg", ItemOptions()))
    assert len(fake.uploads) == 2
    assert len([r for r in fake.requests if r.path == "/token"]) == 2


async def test_a_revoked_refresh_token_is_invalid_credentials(fake: FakeGooglePhotos) -> None:
    destination = await started(settings_for(fake, gphotos_refresh_token="1//revoked"))
    try:
        with pytest.raises(PermanentError, match=r"^invalid credentials: invalid_grant"):
            await destination.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    finally:
        await destination.close()
    assert fake.received == []


async def test_find_existing_lists_the_app_created_items(
    fake: FakeGooglePhotos, gphotos: GooglePhotosDestination
) -> None:
    sent = photo("camera/Canon_40D.jpg", ItemOptions())
    published = await gphotos.upload(sent)
    await gphotos.upload(photo("camera/Nikon_D70.jpg", ItemOptions()))

    assert await gphotos.find_existing(sent.photo_id) == published
    assert await gphotos.find_existing("0" * 64) is None
