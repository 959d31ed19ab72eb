"""The gallery's sign-in with `PHOTOBUS_API_KEYS`: signed session cookies that name the
owner (never hold the key), their flags, CSRF tokens on every state-changing request
made with them, and no open redirect."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from photobus_common.auth import ApiKeys, hash_key
from photobus_status.gallery.sessions import COOKIE, Sessions

from services.status.tests.histories import photo_id
from services.status.tests.status_harness import RunningStatus, running_status
from tests.support import infra

KEY = "alice-gallery-key-31b7e0"
KEYS = f"alice:{hash_key(KEY)},bob:{hash_key('bob-gallery-key-c4d2')}"
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def sessions(secret: bytes = b"s" * 32, keys: str = KEYS) -> Sessions:
    return Sessions(secret, ApiKeys.parse(keys))


def test_a_session_names_its_owner_and_never_holds_the_key() -> None:
    store = sessions()
    session = store.sign_in(KEY)
    assert session is not None and session.name == "alice"
    value = store.encode(session)
    assert (
        KEY not in value
        and KEY not in base64.urlsafe_b64decode(value.split(".")[0] + "==").decode()
    )
    assert store.decode(value) == session
    assert store.key_of(session) == KEY  # held in memory, for forwarding uploads only
    store.sign_out(session)
    assert store.key_of(session) is None


def test_forged_expired_foreign_or_revoked_sessions_are_refused() -> None:
    store = sessions()
    session = store.sign_in(KEY)
    assert session is not None
    value = store.encode(session)
    payload, mac = value.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["n"] = "bob"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    assert store.decode(f"{forged_payload}.{mac}") is None
    assert store.decode(value, now=session.expires + 1) is None
    assert sessions(secret=b"t" * 32).decode(value) is None
    assert sessions(keys=f"bob:{hash_key('b')}").decode(value) is None  # alice's key revoked
    for junk in ("", ".", "abc", "a.b", "%%%.%%%", value + "x"):
        assert store.decode(junk) is None, junk
    assert store.sign_in("not-a-key") is None


@pytest.fixture
async def status(
    amqp_url: str, namespace: str, database: infra.TestDatabase, tmp_path: Path
) -> AsyncIterator[RunningStatus]:
    async with running_status(
        amqp_url=amqp_url,
        namespace=namespace,
        dsn=database.dsn,
        blob_dir=tmp_path / "blobs",
        publishers=("imgur",),
        api_keys=KEYS,
        consume=False,
    ) as running:
        yield running


async def sign_in(status: RunningStatus, **headers: str) -> str:
    response = await status.client.post(
        "/signin",
        data={"key": KEY, "next": "/photos?x=1"},
        headers={**SAME_SITE, **headers},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/photos?x=1"
    cookie: str = response.headers["Set-Cookie"]
    return cookie


async def test_pages_send_browsers_to_sign_in_and_the_api_answers_401(
    status: RunningStatus,
) -> None:
    page = await status.client.get("/upload?a=b", allow_redirects=False)
    assert page.status == 303
    assert page.headers["Location"] == "/signin?next=/upload?a%3Db"
    assert (await status.client.get("/v1/photos")).status == 401
    form = await status.client.get("/signin")
    assert form.status == 200
    assert 'name="key"' in await form.text()
    for path in ("/gallery/static/gallery.css", "/healthz"):
        assert (await status.client.get(path)).status == 200, path


async def test_a_good_key_gets_a_strict_http_only_cookie(status: RunningStatus) -> None:
    behind_tls = await sign_in(status, **{"X-Forwarded-Proto": "https"})
    assert "Secure" in behind_tls
    cookie = await sign_in(status)  # replaces it: a Secure cookie never comes back over HTTP
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert KEY not in cookie
    # The cookie now opens the pages and the API as the key would.
    assert (await status.client.get("/", allow_redirects=False)).status == 200
    listed = await status.client.get("/v1/photos")
    assert listed.status == 200


async def test_a_wrong_key_or_a_cross_site_post_signs_nobody_in(status: RunningStatus) -> None:
    wrong = await status.client.post(
        "/signin", data={"key": "wrong-gallery-secret"}, headers=SAME_SITE, allow_redirects=False
    )
    assert wrong.status == 401
    assert "Set-Cookie" not in wrong.headers
    assert "wrong-gallery-secret" not in await wrong.text()
    cross = await status.client.post(
        "/signin",
        data={"key": KEY},
        headers={"Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
    )
    assert cross.status == 403
    assert "Set-Cookie" not in cross.headers
    assert COOKIE not in {c.key for c in status.client.session.cookie_jar}


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
async def test_sign_in_never_redirects_off_site(status: RunningStatus, target: str) -> None:
    response = await status.client.post(
        "/signin", data={"key": KEY, "next": target}, headers=SAME_SITE, allow_redirects=False
    )
    assert response.headers["Location"] == "/"


async def test_state_changes_with_the_cookie_need_the_csrf_token(status: RunningStatus) -> None:
    await sign_in(status)
    jar = {c.key: c.value for c in status.client.session.cookie_jar}
    payload = jar[COOKIE].split(".")[0]
    token = json.loads(base64.urlsafe_b64decode(payload + "=="))["c"]
    photo = f"/v1/photos/{photo_id(1)}/publish"
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = await status.client.post(photo, json={"destination": "imgur"}, headers=headers)
        assert refused.status == 403, headers
        assert (await refused.json())["error"] == "csrf_token_invalid"
    form = await status.client.post(
        f"/photos/{photo_id(1)}/publish",
        data={"destination": "imgur", "csrf_token": "forged"},
        headers=SAME_SITE,
    )
    assert form.status == 403
    allowed = await status.client.post(
        photo, json={"destination": "imgur"}, headers={"X-CSRF-Token": token}
    )
    assert allowed.status == 404  # past the guard: an unknown photo
    field = await status.client.post(
        f"/photos/{photo_id(1)}/publish",
        data={"destination": "imgur", "csrf_token": token},
        headers=SAME_SITE,
    )
    assert field.status == 404
    signed_out = await status.client.post(
        "/signout", data={"csrf_token": token}, allow_redirects=False
    )
    assert signed_out.status == 303
    assert (await status.client.get("/v1/photos")).status == 401


async def test_signed_in_pages_carry_the_token_and_upload_through_this_origin(
    status: RunningStatus,
) -> None:
    await sign_in(status)
    jar = {c.key: c.value for c in status.client.session.cookie_jar}
    token = json.loads(base64.urlsafe_b64decode(jar[COOKIE].split(".")[0] + "=="))["c"]
    page = await status.client.get("/upload")
    assert page.status == 200
    text = await page.text()
    assert f'action="/upload/jobs?csrf_token={token}"' in text  # not ingest: no key in JS
    assert 'action="/signout"' in text and f'name="csrf_token" value="{token}"' in text
    assert KEY not in text
