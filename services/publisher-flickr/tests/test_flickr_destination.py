"""FlickrDestination (flickrapi in threads) against the fake Flickr, which checks the
OAuth 1.0a signature of every call."""

from __future__ import annotations

import asyncio
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
from photobus_publisher_flickr.destination import FlickrDestination, flickr_tags
from PIL import Image

from tests.fakes import FakeFlickr, Fault, FaultPlan
from tests.fakes.credentials import FlickrCredentials, default_flickr

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
OPTIONS = ItemOptions(
    title="Harbour at dawn", description="Boats", tags=("sea", "fishing boats"), album="Trip"
)


def photo(path: str, options: ItemOptions = OPTIONS) -> PreparedPhoto:
    data = (CORPUS / path).read_bytes()
    return prepare(data, hashlib.sha256(data).hexdigest(), options)


@pytest.fixture
async def fake() -> AsyncIterator[FakeFlickr]:
    async with default_flickr() as server:
        yield server


def settings_for(fake: FakeFlickr, **overrides: object) -> PublisherSettings:
    creds = FlickrCredentials()
    values: dict[str, object] = {
        "flickr_api_key": creds.consumer_key,
        "flickr_api_secret": creds.consumer_secret,
        "flickr_oauth_token": creds.access_token,
        "flickr_oauth_token_secret": creds.access_token_secret,
        "flickr_rest_url": f"{fake.url}/services/rest/",
        "flickr_upload_url": f"{fake.url}/services/upload/",
        "destination_timeout": 5,
        **overrides,
    }
    return PublisherSettings(**values)  # type: ignore[arg-type]


async def started(settings: PublisherSettings) -> FlickrDestination:
    destination = FlickrDestination(settings, MemoryAlbumBook())
    await destination.start()
    return destination


@pytest.fixture
async def flickr(fake: FakeFlickr) -> AsyncIterator[FlickrDestination]:
    destination = await started(settings_for(fake))
    yield destination
    await destination.close()


def test_tags_are_quoted_when_they_hold_spaces_and_carry_the_machine_tag() -> None:
    assert flickr_tags(("sea", "fishing boats", ""), "ab12") == (
        'sea "fishing boats" photobus:sha256=ab12'
    )


async def test_upload_carries_title_description_tags_and_a_photoset_made_once(
    fake: FakeFlickr, flickr: FlickrDestination
) -> None:
    first, second = photo("camera/Canon_40D.jpg"), photo("camera/Nikon_D70.jpg")
    published = [await flickr.upload(first), await flickr.upload(second)]

    assert [u.remote_id for u in fake.uploads] == [p.remote_id for p in published]
    assert (
        published[0].url == f"https://www.flickr.com/photos/12345678@N00/{published[0].remote_id}"
    )
    fields = fake.uploads[0].fields
    assert (fields["title"], fields["description"]) == ("Harbour at dawn", "Boats")
    assert fields["tags"] == f'sea "fishing boats" photobus:sha256={first.photo_id}'
    methods = [r.field("method") for r in fake.requests if r.path == "/services/rest/"]
    assert methods.count("flickr.photosets.create") == 1
    assert methods.count("flickr.photosets.addPhoto") == 1
    [photoset] = fake.store.photosets.values()
    assert photoset.title == "Trip"
    assert photoset.photo_ids == [p.remote_id for p in published]


async def test_a_wrong_consumer_secret_is_invalid_credentials(fake: FakeFlickr) -> None:
    destination = await started(settings_for(fake, flickr_api_secret="not-the-secret"))
    try:
        with pytest.raises(PermanentError, match=r"^invalid credentials") as raised:
            await destination.upload(photo("camera/Canon_40D.jpg"))
    finally:
        await destination.close()
    assert fake.uploads == []
    cause = raised.value.__cause__
    assert getattr(cause, "code", None) == 96


async def test_not_an_image_is_permanent_and_unavailable_is_transient(
    fake: FakeFlickr, flickr: FlickrDestination
) -> None:
    fake.faults = FaultPlan(queue=[Fault.permanent(), Fault.error(105), Fault.status(502)])
    with pytest.raises(PermanentError, match=r"^not_an_image"):
        await flickr.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    with pytest.raises(TransientError, match="105"):
        await flickr.upload(photo("camera/Canon_40D.jpg", ItemOptions()))
    with pytest.raises(TransientError, match="502"):
        await flickr.upload(photo("camera/Canon_40D.jpg", ItemOptions()))


async def test_find_existing_searches_the_machine_tag(
    fake: FakeFlickr, flickr: FlickrDestination
) -> None:
    sent = photo("camera/Canon_40D.jpg", ItemOptions())
    published = await flickr.upload(sent)
    await flickr.upload(photo("camera/Nikon_D70.jpg", ItemOptions()))

    assert await flickr.find_existing(sent.photo_id) == published
    assert await flickr.find_existing("0" * 64) is None


async def test_gps_photos_arrive_without_location(
    fake: FakeFlickr, flickr: FlickrDestination
) -> None:
    published = await flickr.upload(photo("gps/DSCN0010.jpg"))
    with Image.open(io.BytesIO(fake.contents[published.remote_id])) as image:
        assert 0x8825 not in image.getexif()


async def test_unconfigured_without_credentials() -> None:
    destination = FlickrDestination(PublisherSettings(flickr_api_key=None), MemoryAlbumBook())
    assert not destination.is_configured


async def test_concurrent_uploads_each_get_their_own_signed_session(
    fake: FakeFlickr, flickr: FlickrDestination
) -> None:
    names = ["Canon_40D", "Nikon_D70", "Pentax_K10D", "Kodak_CX7530", "Reconyx_HC500_Hyperfire"]
    photos = [photo(f"camera/{name}.jpg", ItemOptions(album="Burst")) for name in names]
    published = await asyncio.gather(*(flickr.upload(p) for p in photos))

    assert len({p.remote_id for p in published}) == len(photos)
    assert sorted(u.remote_id for u in fake.uploads) == sorted(p.remote_id for p in published)
    [photoset] = fake.store.photosets.values()
    assert sorted(photoset.photo_ids) == sorted(p.remote_id for p in published)
