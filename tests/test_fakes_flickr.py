"""The fake Flickr against the real client, flickrapi 2.4.0 (§B): its OAuth 1.0a signatures
are really verified, and its responses parse the way flickrapi expects."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import flickrapi
import oauthlib.oauth1  # type: ignore[import-untyped]
import pytest
import requests

from tests.fakes import Fault
from tests.fakes.control import FakeControl
from tests.fakes.flickr import FakeFlickr
from tests.fakes.flickr_store import machine_tag_query_matches, parse_tags

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
PHOTO = CORPUS / "camera" / "Nikon_D70.jpg"
KEY, SECRET, TOKEN, TOKEN_SECRET = "ck", "cs", "72157-token", "token-secret"
SHA = hashlib.sha256(PHOTO.read_bytes()).hexdigest()


@pytest.fixture
async def flickr() -> AsyncIterator[FakeFlickr]:
    fake = FakeFlickr(
        consumer_key=KEY,
        consumer_secret=SECRET,
        access_token=TOKEN,
        access_token_secret=TOKEN_SECRET,
        perms="write",
    )
    await fake.start()
    yield fake
    await fake.stop()


def client(
    fake: FakeFlickr,
    *,
    secret: str = SECRET,
    token: str = TOKEN,
    token_secret: str = TOKEN_SECRET,
    perms: str = "write",
    fmt: str = "etree",
) -> Any:
    access = flickrapi.auth.FlickrAccessToken(token, token_secret, perms)
    api = flickrapi.FlickrAPI(KEY, secret, token=access, format=fmt, timeout=5)
    api.REST_URL = f"{fake.url}/services/rest/"
    api.UPLOAD_URL = f"{fake.url}/services/upload/"
    return api


def upload(api: Any, path: Path = PHOTO, **fields: Any) -> Any:
    """flickrapi's upload; it leaves a file it opened itself unclosed, so pass one in."""
    fields.setdefault("title", "Nikon")
    fields.setdefault("format", "etree")
    with path.open("rb") as photo:
        return api.upload(filename=str(path), fileobj=photo, **fields)


async def test_signed_upload_is_accepted_and_recorded(flickr: FakeFlickr) -> None:
    tags = f'holiday "new york" photobus:sha256={SHA}'
    rsp = await asyncio.to_thread(upload, client(flickr), tags=tags, is_public=0)

    assert rsp.get("stat") == "ok"
    photo_id = rsp.findtext("photoid")
    [recorded] = flickr.uploads
    assert recorded.remote_id == photo_id
    assert recorded.sha256 == SHA
    assert recorded.content_type == "image/jpeg"
    assert recorded.fields["tags"] == tags
    assert recorded.url == f"https://www.flickr.com/photos/12345678@N00/{photo_id}"
    assert flickr.store.photos[str(photo_id)].tags == [
        "holiday",
        "new york",
        f"photobus:sha256={SHA}",
    ]


async def test_wrong_consumer_secret_is_refused_by_the_signature_check(flickr: FakeFlickr) -> None:
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(upload, client(flickr, secret="not-the-secret"))

    assert refused.value.code == 96
    assert flickr.uploads == []
    assert flickr.requests[-1].status == 200  # Flickr fails inside the body, not with HTTP


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"token": "unknown-token"}, 98),
        ({"token_secret": "wrong"}, 96),
        ({"perms": "read"}, 99),
    ],
)
async def test_auth_failures_have_flickr_codes(
    flickr: FakeFlickr, change: dict[str, str], code: int
) -> None:
    if change.get("perms") == "read":
        flickr.add_access_token("read-only", "ro-secret", "read")
        change = {"token": "read-only", "token_secret": "ro-secret"}
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(upload, client(flickr, **change))

    assert refused.value.code == code


async def test_unknown_consumer_key_is_code_100(flickr: FakeFlickr) -> None:
    flickr.consumer_key = "another-key"
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(upload, client(flickr))

    assert refused.value.code == 100


async def test_non_image_is_code_5(flickr: FakeFlickr, tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(upload, client(flickr), text)

    assert refused.value.code == 5


@pytest.mark.parametrize("code", [2, 3, 4, 5, 6, 96, 98, 99, 105])
async def test_scripted_error_codes_then_normal(flickr: FakeFlickr, code: int) -> None:
    flickr.faults.queue.append(Fault.error(code))
    api = client(flickr)
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(upload, api)
    assert refused.value.code == code

    rsp = await asyncio.to_thread(upload, api)
    assert rsp.findtext("photoid")


async def test_http_429_and_hang(flickr: FakeFlickr) -> None:
    flickr.faults.queue.extend([Fault.status(429, retry_after="3"), Fault.hang()])
    api = client(flickr)
    with pytest.raises(flickrapi.FlickrError, match="429"):
        await asyncio.to_thread(upload, api)
    with pytest.raises(requests.exceptions.Timeout):
        await asyncio.to_thread(upload, api, timeout=0.2)

    assert [r.status for r in flickr.requests] == [429, None]
    assert flickr.uploads == []


async def test_async_upload_and_check_tickets(flickr: FakeFlickr) -> None:
    flickr.ticket_pending_checks = 1
    api = client(flickr)
    rsp = await asyncio.to_thread(upload, api, PHOTO, **{"async": "1"})
    ticket = rsp.findtext("ticketid")

    pending = await asyncio.to_thread(api.photos.upload.checkTickets, tickets=f"{ticket},999")
    done = await asyncio.to_thread(api.photos.upload.checkTickets, tickets=ticket)

    first, unknown = pending.findall("uploader/ticket")
    assert (first.get("complete"), unknown.get("invalid")) == ("0", "1")
    [finished] = done.findall("uploader/ticket")
    assert finished.get("complete") == "1"
    assert finished.get("photoid") == flickr.uploads[0].remote_id


async def test_rest_sets_search_and_info_in_json(flickr: FakeFlickr) -> None:
    api = client(flickr, fmt="parsed-json")
    rsp = await asyncio.to_thread(upload, api, tags=f"photobus:sha256={SHA}", description="d")
    photo_id = rsp.findtext("photoid")

    created = await asyncio.to_thread(api.photosets.create, title="Trip", primary_photo_id=photo_id)
    found = await asyncio.to_thread(
        api.photos.search,
        user_id="me",
        machine_tags=f"photobus:sha256={SHA}",
        extras="machine_tags",
    )
    missed = await asyncio.to_thread(
        api.photos.search, user_id="me", machine_tags="photobus:sha256=00"
    )
    info = await asyncio.to_thread(api.photos.getInfo, photo_id=photo_id)
    sets = await asyncio.to_thread(api.photosets.getList)

    assert created["stat"] == "ok"
    assert created["photoset"]["id"]
    assert [p["id"] for p in found["photos"]["photo"]] == [photo_id]
    assert found["photos"]["photo"][0]["machine_tags"] == f"photobus:sha256={SHA}"
    assert found["photos"]["total"] == "1"
    assert missed["photos"]["photo"] == []
    assert info["photo"]["title"] == {"_content": "Nikon"}
    assert info["photo"]["tags"]["tag"][0]["raw"] == f"photobus:sha256={SHA}"
    assert sets["photosets"]["photoset"][0]["title"]["_content"] == "Trip"
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(
            api.photosets.addPhoto, photoset_id=created["photoset"]["id"], photo_id=photo_id
        )
    assert refused.value.code == 3


async def test_raw_json_error_shape_and_xml_error_shape(flickr: FakeFlickr) -> None:
    api = client(flickr, fmt="json")
    raw = await asyncio.to_thread(api.photos.getInfo, photo_id="1", format="json")
    assert json.loads(raw) == {"stat": "fail", "code": 1, "message": "Photo not found"}

    form = {"method": "flickr.test.login", "api_key": KEY}
    response = await asyncio.to_thread(requests.post, f"{flickr.url}/services/rest/", data=form)
    assert response.text.endswith(
        '<rsp stat="fail"><err code="99" msg="Insufficient permissions. Method requires read privileges; none granted." /></rsp>'
    )


async def test_delete_needs_delete_perms(flickr: FakeFlickr) -> None:
    rsp = await asyncio.to_thread(upload, client(flickr))
    photo_id = rsp.findtext("photoid")
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(client(flickr).photos.delete, photo_id=photo_id)
    assert refused.value.code == 99

    flickr.add_access_token("deleter", "d-secret", "delete")
    deleter = client(flickr, token="deleter", token_secret="d-secret", perms="delete")
    await asyncio.to_thread(deleter.photos.delete, photo_id=photo_id)
    assert flickr.store.photos == {}


async def test_expired_tokens_are_code_98(flickr: FakeFlickr) -> None:
    await FakeControl(flickr.url).expire_access_tokens()
    with pytest.raises(flickrapi.FlickrError) as refused:
        await asyncio.to_thread(upload, client(flickr))

    assert refused.value.code == 98


def three_legged(fake: FakeFlickr, approve: Any) -> Any:
    """flickrapi's own request-token → authorize → access-token flow against the fake."""
    api = flickrapi.FlickrAPI(KEY, SECRET, store_token=False, format="etree")
    oauth = api.flickr_oauth
    oauth.REQUEST_TOKEN_URL = f"{fake.url}/services/oauth/request_token"
    oauth.AUTHORIZE_URL = f"{fake.url}/services/oauth/authorize"
    oauth.ACCESS_TOKEN_URL = f"{fake.url}/services/oauth/access_token"
    oauth.get_request_token(oauth_callback="oob")
    url = oauth.auth_url(perms="write")
    oauth.verifier = approve(url, oauth.resource_owner_key)
    return oauth.get_access_token()


async def test_three_legged_oauth_then_upload(flickr: FakeFlickr) -> None:
    def open_in_browser(url: str, _: str) -> str:
        page = requests.get(url, timeout=5).text
        return page.split("<code id='verifier'>")[1].split("</code>")[0]

    token = await asyncio.to_thread(three_legged, flickr, open_in_browser)

    assert (token.access_level, token.user_nsid, token.username) == (
        "write",
        "12345678@N00",
        "photobus-test",
    )
    api = client(flickr, token=token.token, token_secret=token.token_secret)
    rsp = await asyncio.to_thread(upload, api)
    assert rsp.findtext("photoid")


async def test_three_legged_oauth_approved_through_control_route(flickr: FakeFlickr) -> None:
    loop = asyncio.get_running_loop()
    control = FakeControl(flickr.url)

    def approve(_: str, request_token: str) -> str:
        future = asyncio.run_coroutine_threadsafe(control.flickr_verifier(request_token), loop)
        return future.result(timeout=5)

    token = await asyncio.to_thread(three_legged, flickr, approve)
    assert token.token in flickr.access_tokens


def test_tags_and_machine_tag_queries() -> None:
    tags = parse_tags(f'beach "new york" "photobus:title=two words" photobus:sha256={SHA.upper()}')

    assert tags == [
        "beach",
        "new york",
        "photobus:title=two words",
        f"photobus:sha256={SHA.upper()}",
    ]
    assert machine_tag_query_matches(f"photobus:sha256={SHA}", tags)
    assert machine_tag_query_matches("photobus:title=", tags)
    assert machine_tag_query_matches('photobus:title="two words"', tags)
    assert not machine_tag_query_matches("photobus:sha256=abc", tags)
    assert not machine_tag_query_matches("other:", tags)


async def test_aiohttp_upload_signed_with_oauthlib(flickr: FakeFlickr) -> None:
    """What an async publisher sends: fields signed without the photo, then multipart."""
    url = f"{flickr.url}/services/upload/"
    fields = {"title": "Ünïcode title", "tags": "a b", "is_public": "0"}
    signer = oauthlib.oauth1.Client(
        KEY, client_secret=SECRET, resource_owner_key=TOKEN, resource_owner_secret=TOKEN_SECRET
    )
    _, headers, _ = signer.sign(
        url,
        "POST",
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    form = aiohttp.MultipartWriter("form-data")
    for key, value in fields.items():
        form.append(value).set_content_disposition("form-data", name=key)
    photo = form.append(PHOTO.read_bytes(), {"Content-Type": "image/jpeg"})
    photo.set_content_disposition("form-data", name="photo")  # a part with no filename
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, data=form, headers={"Authorization": headers["Authorization"]}) as r,
    ):
        body = await r.text()

    assert '<rsp stat="ok"><photoid>' in body
    assert flickr.uploads[0].fields["title"] == "Ünïcode title"


async def test_dedup_check_reports_the_existing_photo(flickr: FakeFlickr) -> None:
    api = client(flickr)
    first = await asyncio.to_thread(upload, api)
    again = await asyncio.to_thread(upload, api, PHOTO, dedup_check="1", format="rest")

    assert f'duplicate_photo_id="{first.findtext("photoid")}"' in again.decode()
    assert 'code="9"' in again.decode()
