"""The fake Imgur speaks the contract of §A: driven with plain aiohttp, as a publisher would."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.fakes import FakeControl, FakeImgur, Fault, FaultPlan

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
JPEG = (CORPUS / "camera" / "Canon_40D.jpg").read_bytes()
HEIC = (CORPUS / "heic" / "IMG_5195.HEIC").read_bytes()
CLIENT_ID, CLIENT_SECRET, REFRESH = "cid", "csecret", "refresh-1"


def tiny_png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (seed % 256, 0, 0)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def imgur() -> AsyncIterator[FakeImgur]:
    fake = FakeImgur(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, refresh_token=REFRESH)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def refresh(http: aiohttp.ClientSession, imgur: FakeImgur) -> str:
    form = {
        "refresh_token": REFRESH,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
    }
    async with http.post(f"{imgur.url}/oauth2/token", data=form) as response:
        assert response.status == 200
        body = await response.json()
    assert body["token_type"] == "bearer"
    assert re.fullmatch(r"[0-9a-f]{40}", body["access_token"])
    return str(body["access_token"])


async def upload(
    http: aiohttp.ClientSession,
    imgur: FakeImgur,
    auth: str,
    data: bytes = JPEG,
    **fields: str,
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    form = aiohttp.FormData()
    form.add_field("image", data, filename="photo.jpg", content_type="image/jpeg")
    form.add_field("type", "file")
    for key, value in fields.items():
        form.add_field(key, value)
    async with http.post(f"{imgur.url}/3/image", data=form, headers={"Authorization": auth}) as r:
        return r.status, await r.json(content_type=None), r


async def test_bearer_upload_returns_image_owned_by_account(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    token = await refresh(http, imgur)
    status, body, response = await upload(http, imgur, f"Bearer {token}", title="Sunset")

    assert status == 200
    assert body["success"] is True
    assert body["status"] == 200
    image = body["data"]
    assert re.fullmatch(r"https://i\.imgur\.com/[A-Za-z0-9]{7}\.jpg", image["link"])
    assert image["id"] == image["link"].rsplit("/", 1)[1][:7]
    assert image["account_id"] == imgur.account.account_id
    assert image["account_url"] == "photobus-test"
    assert image["title"] == "Sunset"
    assert (image["type"], image["size"]) == ("image/jpeg", len(JPEG))
    assert image["width"] > 0
    assert response.headers["X-RateLimit-UserRemaining"] == str(2000 - 10)
    assert response.headers["X-Post-Rate-Limit-Remaining"] == str(1250 - 1)
    [recorded] = imgur.uploads
    assert recorded.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert (recorded.remote_id, recorded.content_type) == (image["id"], "image/jpeg")
    assert recorded.fields["title"] == "Sunset"


async def test_client_id_upload_is_anonymous(http: aiohttp.ClientSession, imgur: FakeImgur) -> None:
    status, body, _ = await upload(http, imgur, f"Client-ID {CLIENT_ID}")

    assert status == 200
    assert (body["data"]["account_id"], body["data"]["account_url"]) == (0, None)


async def test_urlencoded_base64_upload(http: aiohttp.ClientSession, imgur: FakeImgur) -> None:
    form = {"image": base64.b64encode(JPEG).decode(), "type": "base64", "name": "a.jpg"}
    headers = {"Authorization": f"Client-ID {CLIENT_ID}"}
    async with http.post(f"{imgur.url}/3/upload", data=form, headers=headers) as response:
        body = await response.json()

    assert body["data"]["size"] == len(JPEG)
    assert imgur.uploads[0].sha256 == hashlib.sha256(JPEG).hexdigest()


async def test_bad_refresh_token_gets_documented_400(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    form = {
        "refresh_token": "nope",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
    }
    async with http.post(f"{imgur.url}/oauth2/token", data=form) as response:
        body = await response.json()

    assert response.status == 400
    assert body == {
        "data": {"error": "Invalid refresh token", "request": "/oauth2/token", "method": "POST"},
        "success": False,
        "status": 400,
    }


async def test_expired_token_gets_403_and_one_refresh_recovers(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    token = await refresh(http, imgur)
    imgur.expire_access_tokens()

    status, body, _ = await upload(http, imgur, f"Bearer {token}")
    assert status == 403
    assert body["data"]["error"] == "The access token provided is invalid."
    assert body["success"] is False

    fresh = await refresh(http, imgur)
    status, _, _ = await upload(http, imgur, f"Bearer {fresh}")
    assert status == 200
    assert len(imgur.uploads) == 1


async def test_account_routes_need_bearer_and_page_by_50(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    token = await refresh(http, imgur)
    bearer = {"Authorization": f"Bearer {token}"}
    for seed in range(51):
        status, _, _ = await upload(http, imgur, bearer["Authorization"], tiny_png(seed))
        assert status == 200

    async def page(n: int, headers: dict[str, str]) -> tuple[int, Any]:
        async with http.get(f"{imgur.url}/3/account/me/images/{n}", headers=headers) as response:
            return response.status, (await response.json())["data"]

    assert [len((await page(n, bearer))[1]) for n in range(3)] == [50, 1, 0]
    status, _ = await page(0, {"Authorization": f"Client-ID {CLIENT_ID}"})
    assert status == 401
    status, _ = await page(0, {})
    assert status == 401


async def test_heic_is_refused_like_the_real_service(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    status, body, _ = await upload(http, imgur, f"Client-ID {CLIENT_ID}", HEIC)

    assert status == 400
    assert body["data"]["error"]["code"] == 1003
    assert body["data"]["error"]["type"] == "ImgurException"
    assert body["data"]["request"] == "/3/image"
    assert imgur.uploads == []


@pytest.mark.parametrize(
    ("fault", "status", "check"),
    [
        (Fault.status(429), 429, lambda b: b["data"]["error"]["code"] == 429),
        (Fault.status(429, shape="errors"), 429, lambda b: b["errors"][0]["code"] == "429"),
        (Fault.status(400, shape="string"), 400, lambda b: "request" not in b["data"]),
        (Fault.status(417), 417, lambda b: b["data"]["error"] == "Internal expectation failed"),
        (Fault.status(500), 500, lambda b: b["success"] is False),
        (Fault.permanent(), 400, lambda b: b["data"]["error"]["code"] == 1003),
    ],
)
async def test_each_failure_shape_then_normal_service(
    http: aiohttp.ClientSession, imgur: FakeImgur, fault: Fault, status: int, check: Any
) -> None:
    imgur.faults.queue.append(fault)
    got, body, response = await upload(http, imgur, f"Client-ID {CLIENT_ID}")

    assert got == status
    assert check(body)
    assert "X-RateLimit-ClientRemaining" in response.headers
    if fault.shape == "errors":
        assert response.content_type == "application/vnd.imgur.v1+json"
    assert imgur.uploads == []
    got, _, _ = await upload(http, imgur, f"Client-ID {CLIENT_ID}")
    assert got == 200


async def test_retry_after_is_sent_and_requests_are_timestamped(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    imgur.faults = FaultPlan(queue=[Fault.status(429, retry_after="2")] * 2)
    statuses, headers = [], []
    for _ in range(3):
        got, _, response = await upload(http, imgur, f"Client-ID {CLIENT_ID}")
        statuses.append((got, response.headers.get("Retry-After")))
        headers.append(response.headers)

    assert statuses == [(429, "2"), (429, "2"), (200, None)]
    refused, _, served = headers
    assert (refused["X-Post-Rate-Limit-Remaining"], refused["X-Post-Rate-Limit-Reset"]) == (
        "0",
        "2",
    )
    assert 1 < int(refused["X-RateLimit-UserReset"]) - time.time() <= 3
    assert served["X-Post-Rate-Limit-Remaining"] != "0"
    uploads = [r for r in imgur.requests if r.path == "/3/image"]
    assert [r.status for r in uploads] == [429, 429, 200]
    assert uploads[0].time <= uploads[1].time <= uploads[2].time
    assert uploads[0].field("type") == "file"
    assert uploads[0].files[0].sha256 == hashlib.sha256(JPEG).hexdigest()


async def test_slow_upload_is_stored_even_when_the_client_gives_up(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    imgur.faults.delay_seconds = 0.5
    form = aiohttp.FormData()
    form.add_field("image", JPEG, filename="a.jpg")
    headers = {"Authorization": f"Client-ID {CLIENT_ID}"}
    with pytest.raises(TimeoutError):
        async with http.post(
            f"{imgur.url}/3/image",
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=0.1),
        ):
            pass

    assert len(imgur.uploads) == 1


async def test_hang_never_answers(http: aiohttp.ClientSession, imgur: FakeImgur) -> None:
    imgur.faults.hang = True
    form = aiohttp.FormData()
    form.add_field("image", JPEG, filename="a.jpg")
    headers = {"Authorization": f"Client-ID {CLIENT_ID}"}
    with pytest.raises(TimeoutError):
        async with http.post(
            f"{imgur.url}/3/image",
            data=form,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass

    assert imgur.requests[-1].status is None
    assert imgur.uploads == []


async def test_albums_and_deletion(http: aiohttp.ClientSession, imgur: FakeImgur) -> None:
    token = await refresh(http, imgur)
    bearer = {"Authorization": f"Bearer {token}"}
    _, first, _ = await upload(http, imgur, bearer["Authorization"])
    _, second, _ = await upload(http, imgur, bearer["Authorization"], tiny_png(1))
    first_id, second_id = first["data"]["id"], second["data"]["id"]

    form = {"title": "Trip", "privacy": "hidden", "ids[]": first_id}
    async with http.post(f"{imgur.url}/3/album", data=form, headers=bearer) as response:
        album = (await response.json())["data"]
    add = {"ids": second_id}
    async with http.post(f"{imgur.url}/3/album/{album['id']}/add", data=add, headers=bearer) as r:
        assert (await r.json())["data"] is True
    async with http.get(f"{imgur.url}/3/account/me/albums", headers=bearer) as response:
        [listed] = (await response.json())["data"]
    assert (listed["title"], listed["images_count"]) == ("Trip", 2)

    anon = {"Authorization": f"Client-ID {CLIENT_ID}"}
    async with http.delete(f"{imgur.url}/3/image/{first_id}", headers=anon) as response:
        assert response.status == 403
    async with http.delete(f"{imgur.url}/3/image/{first_id}", headers=bearer) as response:
        assert (await response.json())["data"] is True
    async with http.get(f"{imgur.url}/3/image/{first_id}", headers=anon) as response:
        assert response.status == 404


async def test_credits_route(http: aiohttp.ClientSession, imgur: FakeImgur) -> None:
    headers = {"Authorization": f"Client-ID {CLIENT_ID}"}
    async with http.get(f"{imgur.url}/3/credits", headers=headers) as response:
        data = (await response.json())["data"]

    assert data["ClientLimit"] == 12500
    assert set(data) == {
        "UserLimit",
        "UserRemaining",
        "UserReset",
        "ClientLimit",
        "ClientRemaining",
    }


async def test_control_api_from_another_process(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    control = FakeControl(imgur.url)
    await control.set_faults(queue=[Fault.status(503)])

    got, _, _ = await upload(http, imgur, f"Client-ID {CLIENT_ID}")
    assert got == 503
    got, body, _ = await upload(http, imgur, f"Client-ID {CLIENT_ID}")
    assert got == 200

    [recorded] = await control.uploads()
    assert recorded.remote_id == body["data"]["id"]
    assert [r.status for r in await control.requests()] == [503, 200]
    await control.reset()
    assert await control.uploads() == []
    assert (await control.faults()).queue == []


async def test_control_api_refuses_a_malformed_fault_plan(
    http: aiohttp.ClientSession, imgur: FakeImgur
) -> None:
    async with http.post(f"{imgur.url}/_fake/faults", json={"always_sttus": 500}) as response:
        body = await response.json()

    assert response.status == 400
    assert "always_sttus" in body["error"]
    assert imgur.faults == FaultPlan()
