"""The fake Google Photos (§C): google-auth refreshes against it for real, then raw and
resumable uploads and batchCreate go over aiohttp, as the publisher will send them."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import google.auth.exceptions
import google.auth.transport.requests
import pytest
from google.oauth2.credentials import Credentials

from tests.fakes import Fault, FaultPlan
from tests.fakes.control import FakeControl
from tests.fakes.gphotos import FakeGooglePhotos
from tests.fakes.gphotos_models import APPENDONLY, READONLY_APP_CREATED

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
JPEG = (CORPUS / "camera" / "Pentax_K10D.jpg").read_bytes()
LARGE_JPEG = (CORPUS / "camera" / "Reconyx_HC500_Hyperfire.jpg").read_bytes()
CLIENT_ID, CLIENT_SECRET, REFRESH = "cid.apps.googleusercontent.com", "csecret", "1//refresh"
ITEM_FAILED = "Failed: There was an error while trying to create this media item."


@pytest.fixture
async def gphotos() -> AsyncIterator[FakeGooglePhotos]:
    fake = FakeGooglePhotos(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def refreshed(fake: FakeGooglePhotos, scopes: list[str], refresh_token: str = REFRESH) -> str:
    """google-auth's own refresh (blocking) against the fake's token endpoint."""
    credentials = Credentials(  # type: ignore[no-untyped-call]  # google-auth is untyped here
        token=None,
        refresh_token=refresh_token,
        token_uri=f"{fake.url}/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=scopes,
    )
    credentials.refresh(google.auth.transport.requests.Request())  # type: ignore[no-untyped-call]
    assert credentials.valid
    return str(credentials.token)


async def bearer(fake: FakeGooglePhotos, *scopes: str) -> dict[str, str]:
    wanted = list(scopes) or [APPENDONLY, READONLY_APP_CREATED]
    token = await asyncio.to_thread(refreshed, fake, wanted)
    return {"Authorization": f"Bearer {token}"}


async def upload_bytes(
    http: aiohttp.ClientSession, fake: FakeGooglePhotos, auth: dict[str, str], data: bytes = JPEG
) -> tuple[int, str]:
    headers = {
        **auth,
        "Content-Type": "application/octet-stream",
        "X-Goog-Upload-Content-Type": "image/jpeg",
        "X-Goog-Upload-Protocol": "raw",
        "X-Goog-Upload-File-Name": "IMG_0001.jpg",
    }
    async with http.post(f"{fake.url}/v1/uploads", data=data, headers=headers) as response:
        return response.status, await response.text()


async def batch_create(
    http: aiohttp.ClientSession, fake: FakeGooglePhotos, auth: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any]:
    url = f"{fake.url}/v1/mediaItems:batchCreate"
    async with http.post(url, json=body, headers=auth) as response:
        return response.status, await response.json()


def items(*tokens: str, **extra: Any) -> dict[str, Any]:
    new = [{"description": "d", "simpleMediaItem": {"uploadToken": t}} for t in tokens]
    return {"newMediaItems": new, **extra}


async def test_refresh_upload_and_create(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    auth = await bearer(gphotos)
    status, token = await upload_bytes(http, gphotos, auth)
    assert status == 200
    assert token.startswith("CAIS")

    status, body = await batch_create(http, gphotos, auth, items(token))

    assert status == 200
    [result] = body["newMediaItemResults"]
    assert result["uploadToken"] == token
    assert result["status"] == {"message": "Success"}
    item = result["mediaItem"]
    assert item["filename"] == "IMG_0001.jpg"
    assert item["mimeType"] == "image/jpeg"
    assert item["productUrl"] == f"https://photos.google.com/lr/photo/{item['id']}"
    assert int(item["mediaMetadata"]["width"]) > 0
    [received] = gphotos.received
    [created] = gphotos.uploads
    assert received.sha256 == created.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (created.remote_id, created.fields["description"]) == (item["id"], "d")
    assert gphotos.contents[item["id"]] == JPEG
    token_request = next(r for r in gphotos.requests if r.path == "/token")
    assert token_request.field("grant_type") == "refresh_token"
    assert token_request.field("scope") == f"{APPENDONLY} {READONLY_APP_CREATED}"


async def test_bad_refresh_token_is_invalid_grant(gphotos: FakeGooglePhotos) -> None:
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant") as refused:
        await asyncio.to_thread(refreshed, gphotos, [APPENDONLY], "1//revoked")

    assert refused.value.retryable is False


async def test_bearer_and_scope_rules(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    status, _ = await upload_bytes(http, gphotos, {"Authorization": "Bearer nope"})
    assert status == 401
    read_only = await bearer(gphotos, READONLY_APP_CREATED)
    async with http.post(f"{gphotos.url}/v1/uploads", data=JPEG, headers=read_only) as response:
        error = (await response.json())["error"]
    assert (response.status, error["status"]) == (403, "PERMISSION_DENIED")
    assert error["message"] == "Request had insufficient authentication scopes."

    append_only = await bearer(gphotos, APPENDONLY)
    async with http.get(f"{gphotos.url}/v1/mediaItems", headers=append_only) as response:
        assert response.status == 403

    gphotos.expire_access_tokens()
    async with http.post(f"{gphotos.url}/v1/uploads", data=JPEG, headers=append_only) as response:
        error = (await response.json())["error"]
    assert (response.status, error["status"]) == (401, "UNAUTHENTICATED")


async def test_per_item_failures_and_207(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    auth = await bearer(gphotos)
    _, good = await upload_bytes(http, gphotos, auth)
    _, not_a_photo = await upload_bytes(http, gphotos, auth, b"plain text, not a photo")
    gphotos.faults.multi_status = True

    status, body = await batch_create(http, gphotos, auth, items("unknown", good, not_a_photo))

    assert status == 207
    by_token = {r["uploadToken"]: r for r in body["newMediaItemResults"]}
    assert by_token["unknown"]["status"] == {"code": 3, "message": ITEM_FAILED}
    assert by_token[not_a_photo]["status"]["code"] == 3
    assert "mediaItem" in by_token[good]
    status, body = await batch_create(http, gphotos, auth, items(good))
    assert (status, body["newMediaItemResults"][0]["status"]["code"]) == (200, 3)  # used once


async def test_expired_upload_tokens(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    auth = await bearer(gphotos)
    _, token = await upload_bytes(http, gphotos, auth)
    await FakeControl(gphotos.url).expire_upload_tokens()

    _, body = await batch_create(http, gphotos, auth, items(token))

    assert body["newMediaItemResults"][0]["status"]["code"] == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (items(*["t"] * 51), "Request must have less than 50 items."),
        (items("t", albumId="not-an-album"), "Request contains an invalid album id."),
        (items("t", albumPosition={"position": "LAST_IN_ALBUM"}), "An album position requires"),
        (
            {
                "newMediaItems": [
                    {"description": "x" * 1001, "simpleMediaItem": {"uploadToken": "t"}}
                ]
            },
            "at most 1000",
        ),
    ],
)
async def test_invalid_batches_are_400(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos, body: dict[str, Any], message: str
) -> None:
    status, answer = await batch_create(http, gphotos, await bearer(gphotos), body)

    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"
    assert message in answer["error"]["message"]


async def test_albums_only_app_created(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    auth = await bearer(gphotos)
    foreign = gphotos.library.add_foreign_album("Made on the phone")
    async with http.post(
        f"{gphotos.url}/v1/albums", json={"album": {"title": "Trip"}}, headers=auth
    ) as r:
        album = await r.json()
    assert album["isWriteable"] is True
    _, token = await upload_bytes(http, gphotos, auth)

    status, answer = await batch_create(http, gphotos, auth, items(token, albumId=foreign))
    assert (status, answer["error"]["message"]) == (
        400,
        "No permission to add media items to this album.",
    )
    status, answer = await batch_create(http, gphotos, auth, items(token, albumId=album["id"]))
    assert status == 200

    async with http.get(f"{gphotos.url}/v1/albums", headers=auth) as response:
        listed = (await response.json())["albums"]
    assert [a["id"] for a in listed] == [album["id"]]
    assert listed[0]["mediaItemsCount"] == "1"
    search = {"albumId": album["id"]}
    async with http.post(f"{gphotos.url}/v1/mediaItems:search", json=search, headers=auth) as r:
        found = (await r.json())["mediaItems"]
    assert [f["id"] for f in found] == [answer["newMediaItemResults"][0]["mediaItem"]["id"]]
    assert gphotos.uploads[0].fields["albumId"] == album["id"]


async def test_listing_pages_with_page_tokens(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    auth = await bearer(gphotos)
    async with http.get(f"{gphotos.url}/v1/mediaItems", headers=auth) as response:
        assert await response.json() == {}  # Google omits empty lists
    tokens = [(await upload_bytes(http, gphotos, auth))[1] for _ in range(3)]
    await batch_create(http, gphotos, auth, items(*tokens))

    seen: list[str] = []
    query: dict[str, str] = {"pageSize": "2"}
    for _ in range(3):
        async with http.get(f"{gphotos.url}/v1/mediaItems", params=query, headers=auth) as r:
            page = await r.json()
        seen += [item["id"] for item in page["mediaItems"]]
        if "nextPageToken" not in page:
            break
        query["pageToken"] = page["nextPageToken"]
    assert seen == [upload.remote_id for upload in gphotos.uploads]


async def test_429_on_create_only(http: aiohttp.ClientSession, gphotos: FakeGooglePhotos) -> None:
    gphotos.faults = FaultPlan(queue=[Fault.status(429, retry_after="1", route="create")])
    auth = await bearer(gphotos)
    status, token = await upload_bytes(http, gphotos, auth)
    assert status == 200

    status, body = await batch_create(http, gphotos, auth, items(token))
    assert (status, body["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")
    status, body = await batch_create(http, gphotos, auth, items(token))
    assert status == 200


async def test_permanent_fault_surfaces_in_batch_create(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    gphotos.faults.queue.append(Fault.permanent())
    auth = await bearer(gphotos)
    _, token = await upload_bytes(http, gphotos, auth)

    _, body = await batch_create(http, gphotos, auth, items(token))

    assert body["newMediaItemResults"][0]["status"]["code"] == 3
    assert gphotos.uploads == []


async def test_resumable_upload(http: aiohttp.ClientSession, gphotos: FakeGooglePhotos) -> None:
    auth = await bearer(gphotos)
    start = {
        **auth,
        "Content-Length": "0",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Content-Type": "image/jpeg",
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Raw-Size": str(len(LARGE_JPEG)),
    }
    async with http.post(f"{gphotos.url}/v1/uploads", headers=start) as response:
        session_url = response.headers["X-Goog-Upload-URL"]
        granularity = int(response.headers["X-Goog-Upload-Chunk-Granularity"])
    first = LARGE_JPEG[:granularity]
    chunk = {**auth, "X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"}
    async with http.post(session_url, data=first, headers=chunk) as response:
        assert response.status == 200
    query = {**auth, "X-Goog-Upload-Command": "query"}
    async with http.post(session_url, headers=query) as response:
        received = int(response.headers["X-Goog-Upload-Size-Received"])
    assert received == granularity
    last = {
        **auth,
        "X-Goog-Upload-Command": "upload, finalize",
        "X-Goog-Upload-Offset": str(received),
    }
    async with http.post(session_url, data=LARGE_JPEG[received:], headers=last) as response:
        token = await response.text()
        assert response.headers["X-Goog-Upload-Status"] == "final"

    _, body = await batch_create(http, gphotos, auth, items(token))
    assert body["newMediaItemResults"][0]["status"] == {"message": "Success"}
    assert gphotos.uploads[0].sha256 == hashlib.sha256(LARGE_JPEG).hexdigest()


async def test_token_endpoint_outage_and_control_api(
    http: aiohttp.ClientSession, gphotos: FakeGooglePhotos
) -> None:
    control = FakeControl(gphotos.url)
    await control.set_faults(token_status=503)
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
    async with http.post(f"{gphotos.url}/token", data=form) as response:
        assert response.status == 503
    await control.set_faults()
    auth = await bearer(gphotos)
    await upload_bytes(http, gphotos, auth)

    [received] = await control.gphotos_received()
    assert received.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert [r.status for r in await control.requests()][-2:] == [200, 200]
