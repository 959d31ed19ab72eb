"""Access control, end to end: the pipeline and two publishers as processes with
`PHOTOBUS_API_KEYS` set, driven by two keys over HTTP.

Every route but health and metrics needs a key; one key never sees another's jobs or
photos (404, not 403); and no key, OAuth token or password — presented wrongly, carried
in a URL, or held by a publisher whose token the destination refuses — appears in any
service's log, in any message on the exchange, or in an error body.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import pytest
from aio_pika.abc import AbstractIncomingMessage
from photobus_common.auth import hash_key

from tests.fakes.control import FakeControl
from tests.fakes.credentials import (
    FlickrCredentials,
    GooglePhotosCredentials,
    ImgurCredentials,
    publisher_env,
)
from tests.fakes.process import fakes_process
from tests.support import infra
from tests.support.cleanup import delete_namespace
from tests.support.client import CORPUS, form_with_files, wait_job
from tests.support.stack import OUTPUT, Stack

pytestmark = pytest.mark.e2e

PUBLISHERS = ("imgur", "flickr", "gphotos")
SERVICES = ["ingest", "thumbnailer", "status", *(f"publisher-{name}" for name in PUBLISHERS)]
# Fresh per run, so a hit in the logs can only come from this run.
ALICE_KEY = f"alice-key-{secrets.token_hex(12)}"
BOB_KEY = f"bob-key-{secrets.token_hex(12)}"
WRONG_KEY = f"wrong-key-{secrets.token_hex(12)}"
BAD_IMGUR_TOKEN = f"revoked-imgur-refresh-{secrets.token_hex(12)}"
URL_PASSWORD = f"url-password-{secrets.token_hex(12)}"
FLICKR = FlickrCredentials()
SECRETS = {
    "alice's key": ALICE_KEY,
    "bob's key": BOB_KEY,
    "a wrong key": WRONG_KEY,
    "imgur refresh token": BAD_IMGUR_TOKEN,
    "imgur client secret": ImgurCredentials().client_secret,
    "flickr consumer secret": FLICKR.consumer_secret,
    "flickr token secret": FLICKR.access_token_secret,
    "flickr token": FLICKR.access_token,
    "google client secret": GooglePhotosCredentials().client_secret,
    "google refresh token": GooglePhotosCredentials().refresh_token,
    "a URL's password": URL_PASSWORD,
}
ALICE = {"Authorization": f"Bearer {ALICE_KEY}"}
BOB = {"X-API-Key": BOB_KEY}


@dataclass
class KeyedStack:
    stack: Stack
    fakes: dict[str, str]  # destination -> the fake's URL
    messages: list[bytes] = field(default_factory=list)  # every event, as sent
    bodies: list[str] = field(default_factory=list)  # every answer the tests read

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self.messages.append(message.body)
        await message.ack()


@pytest.fixture(scope="module")
async def keyed(amqp_url: str, admin_pg_url: str) -> AsyncIterator[KeyedStack]:
    namespace = infra.unique("pbauth")
    db = await infra.create_database(admin_pg_url, infra.unique("photobus_auth"))
    OUTPUT.mkdir(exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="access-control-", dir=OUTPUT)
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        async with fakes_process(OUTPUT / f"access-control-{namespace}-fakes.json") as urls:
            env = {
                "PHOTOBUS_AMQP_URL": amqp_url,
                "PHOTOBUS_DATABASE_URL": db.dsn,
                "PHOTOBUS_NAMESPACE": namespace,
                "PHOTOBUS_BLOB_URL": f"file://{workdir}/blobs",
                "PHOTOBUS_WORKERS": "2",
                "PHOTOBUS_PUBLISHERS": ",".join(PUBLISHERS),
                "PHOTOBUS_PUBLISH_RETRY_DELAYS": "1,2",
                "PHOTOBUS_BREAKER_THRESHOLD": "10",
                "PHOTOBUS_LOG_LEVEL": "DEBUG",  # the most a log could ever say
                "NO_PROXY": "127.0.0.1,localhost",
                "PYTHONUNBUFFERED": "1",
                **publisher_env(urls),
                # Imgur refuses this token: every upload there fails on its refresh.
                "PHOTOBUS_IMGUR_REFRESH_TOKEN": BAD_IMGUR_TOKEN,
                "PHOTOBUS_API_KEYS": f"alice:{hash_key(ALICE_KEY)},bob:{hash_key(BOB_KEY)}",
            }
            stack = Stack.create("test_access_control", env, SERVICES)
            for service in stack.services.values():
                service.log_path.unlink(missing_ok=True)  # this run's lines only
            keyed = KeyedStack(stack, urls)
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                f"{namespace}.events", aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(exclusive=True)
            await queue.bind(exchange, "#")
            await queue.consume(keyed.on_message)
            try:
                await stack.start(timeout=180)
                yield keyed
            finally:
                stack.stop()
    finally:
        await connection.close()
        await infra.drop_database(admin_pg_url, db.name)
        await delete_namespace(amqp_url, namespace)
        shutil.rmtree(workdir, ignore_errors=True)


async def call(
    keyed: KeyedStack, method: str, url: str, headers: dict[str, str], **kwargs: Any
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, headers=headers, **kwargs) as r,
    ):
        text = (await r.read()).decode(errors="replace")
        keyed.bodies.append(text)
        return r.status, await r.json() if r.content_type == "application/json" else text


async def upload_as(
    keyed: KeyedStack, headers: dict[str, str], name: str, destinations: str = "imgur,flickr"
) -> dict[str, Any]:
    photo = (CORPUS / "camera" / name).read_bytes()
    form = form_with_files([(name, photo)], destinations=destinations)
    status, body = await call(
        keyed, "POST", f"{keyed.stack.url('ingest')}/v1/jobs", headers, data=form
    )
    assert status == 202, body
    return dict(body)


async def settled_job(keyed: KeyedStack, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    async with aiohttp.ClientSession(headers=headers) as http:
        return await wait_job(http, keyed.stack.url("status"), job_id, timeout=120)


async def test_without_a_valid_key_only_health_and_metrics_answer(keyed: KeyedStack) -> None:
    ingest, status = keyed.stack.url("ingest"), keyed.stack.url("status")
    form = form_with_files([("a.jpg", b"not really")])
    for headers in ({}, {"Authorization": f"Bearer {WRONG_KEY}"}, {"X-API-Key": WRONG_KEY}):
        code, body = await call(keyed, "POST", f"{ingest}/v1/jobs", headers, data=form)
        assert code == 401, body
        assert body["error"] == "unauthorized"
        for path in ("/v1/photos", "/v1/images", "/v1/jobs/some-job"):
            code, body = await call(keyed, "GET", f"{status}{path}", headers)
            assert code == 401, (path, body)
        # A browser without a key is sent to sign in; a wrong key is still refused.
        code, body = await call(keyed, "GET", f"{status}/", headers, allow_redirects=False)
        assert code == (303 if not headers else 401), body
    for url in (ingest, status):
        for path in ("/healthz", "/readyz", "/metrics"):
            code, _ = await call(keyed, "GET", f"{url}{path}", {})
            assert code == 200, (url, path)
    for name in SERVICES:
        # With keys, no service claims it listens on loopback only.
        assert "no API keys configured" not in keyed.stack.services[name].log_path.read_text()


async def test_one_key_never_sees_anothers_jobs_or_photos(keyed: KeyedStack) -> None:
    status = keyed.stack.url("status")
    alices = await upload_as(keyed, ALICE, "Canon_40D.jpg")
    bobs = await upload_as(keyed, BOB, "Nikon_D70.jpg")
    alice_job = await settled_job(keyed, ALICE, alices["job_id"])
    bob_job = await settled_job(keyed, BOB, bobs["job_id"])
    alice_photo = alice_job["items"][0]["photo_id"]
    bob_photo = bob_job["items"][0]["photo_id"]
    # Flickr published; Imgur refused its token, and the job says so without the token.
    destinations = alice_job["items"][0]["destinations"]
    assert destinations["flickr"]["state"] == "published", alice_job
    assert destinations["imgur"]["state"] == "failed", alice_job

    for path in (
        f"/v1/jobs/{alices['job_id']}",
        f"/v1/images/uploaded/{alices['job_id']}",
        f"/v1/photos/{alice_photo}",
        f"/v1/photos/{alice_photo}/renditions/thumb",
    ):
        code, body = await call(keyed, "GET", f"{status}{path}", BOB)
        assert code == 404, (path, body)  # as if it did not exist: not 403
        code, _ = await call(keyed, "GET", f"{status}{path}", ALICE)
        assert code == 200, path
    code, body = await call(
        keyed,
        "POST",
        f"{status}/v1/photos/{alice_photo}/publish",
        BOB,
        json={"destination": "imgur"},
    )
    assert code == 404, body
    for headers, mine, theirs in ((ALICE, alice_photo, bob_photo), (BOB, bob_photo, alice_photo)):
        code, body = await call(keyed, "GET", f"{status}/v1/photos", headers)
        listed = {p["photo_id"] for p in body["photos"]}
        assert mine in listed and theirs not in listed


async def test_a_url_with_credentials_is_refused_without_repeating_them(keyed: KeyedStack) -> None:
    url = f"http://someone:{URL_PASSWORD}@127.0.0.2:9/photo.jpg"
    code, body = await call(
        keyed, "POST", f"{keyed.stack.url('ingest')}/v1/jobs", ALICE, json={"urls": [url]}
    )
    assert code == 202, body
    job = await settled_job(keyed, ALICE, body["job_id"])
    assert job["items"][0]["reason"] is not None, job
    assert job["items"][0]["url"] == "http://127.0.0.2:9/photo.jpg"


async def test_the_gallery_uploads_for_a_signed_in_browser_without_holding_the_key(
    keyed: KeyedStack,
) -> None:
    status = keyed.stack.url("status")
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.post(
            f"{status}/signin",
            data={"key": ALICE_KEY, "next": "/upload"},
            headers={"Sec-Fetch-Site": "same-origin"},
            allow_redirects=False,
        ) as signed_in:
            assert signed_in.status == 303
            assert ALICE_KEY not in signed_in.headers["Set-Cookie"]
        session = next(c.value for c in jar if c.key == "photobus_session")
        token = json.loads(base64.urlsafe_b64decode(session.split(".")[0] + "=="))["c"]
        photo = CORPUS / "camera" / "Canon_40D.jpg"

        def form() -> aiohttp.FormData:
            return form_with_files([(photo.name, photo.read_bytes())], destinations="flickr")

        async with browser.post(f"{status}/upload/jobs", data=form()) as refused:
            assert refused.status == 403  # no CSRF token: not from the gallery's own form
        async with browser.post(
            f"{status}/upload/jobs", params={"csrf_token": token}, data=form()
        ) as accepted:
            body = await accepted.json()
            keyed.bodies.append(json.dumps(body))
            assert accepted.status == 202, body
    job = await settled_job(keyed, ALICE, body["job_id"])  # Alice's, as if sent with her key
    assert job["items"][0]["destinations"]["flickr"]["state"] == "published", job
    code, _ = await call(keyed, "GET", f"{status}/v1/jobs/{body['job_id']}", BOB)
    assert code == 404


async def test_a_failing_destination_reports_without_its_tokens(keyed: KeyedStack) -> None:
    flickr, google = FakeControl(keyed.fakes["flickr"]), FakeControl(keyed.fakes["gphotos"])
    await flickr.set_faults(always_status=500)
    await google.set_faults(token_status=400)  # the refresh token is refused
    try:
        reply = await upload_as(keyed, BOB, "Pentax_K10D.jpg", "flickr,gphotos")
        job = await settled_job(keyed, BOB, reply["job_id"])
    finally:
        await flickr.set_faults()
        await google.set_faults()
    destinations = job["items"][0]["destinations"]
    assert destinations["flickr"]["state"] == "failed", job
    assert destinations["gphotos"]["state"] == "failed", job
    keyed.bodies.append(json.dumps(job))


async def cli(keyed: KeyedStack, cache: Path, key: str, *args: str | Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOBUS_")}
    env |= {
        "PHOTOBUS_URL": keyed.stack.url("ingest"),
        "PHOTOBUS_API_KEY": key,
        "XDG_CACHE_HOME": str(cache),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "photobus_client", *map(str, args),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    async with asyncio.timeout(120):
        out, _ = await process.communicate()
    assert process.returncode is not None
    keyed.bodies.append(out.decode(errors="replace"))
    return process.returncode, out.decode(errors="replace")


async def test_the_cli_works_with_its_key_and_says_so_without(
    keyed: KeyedStack, tmp_path: Path
) -> None:
    photo = tmp_path / "cli.jpg"
    photo.write_bytes((CORPUS / "camera" / "Kodak_CX7530.jpg").read_bytes() + os.urandom(16))
    code, out = await cli(keyed, tmp_path / "cache", WRONG_KEY, "upload", photo)
    assert code != 0, out
    assert "PHOTOBUS_API_KEY" in out and WRONG_KEY not in out
    code, out = await cli(
        keyed,
        tmp_path / "cache",
        ALICE_KEY,
        "upload",
        photo,
        "--wait",
        "--json",
        "--only",
        "flickr",
    )
    assert code == 0, out
    [job] = json.loads(out)["results"]
    code, _ = await call(keyed, "GET", f"{keyed.stack.url('status')}/v1/jobs/{job['job_id']}", BOB)
    assert code == 404
    code, out = await cli(keyed, tmp_path / "cache", BOB_KEY, "ls", "--json")
    assert code == 0, out
    assert job["items"][0]["photo_id"] not in out


async def test_no_secret_reaches_a_log_a_message_or_an_answer(keyed: KeyedStack) -> None:
    """Runs last: everything the tests above provoked is in the logs and the capture."""
    assert any(b"publish.failed" in m for m in keyed.messages)  # Imgur's refusal was reported
    haystacks = {"answers": "\n".join(keyed.bodies)}
    haystacks |= {f"message {i}": m.decode(errors="replace") for i, m in enumerate(keyed.messages)}
    for name, service in keyed.stack.services.items():
        text = service.log_path.read_text(errors="replace")
        assert text.strip(), f"{name} wrote no log"
        haystacks[f"{name}.log"] = text
    leaks = [
        f"{what} in {where}"
        for where, text in haystacks.items()
        for what, secret in SECRETS.items()
        if secret in text
    ]
    assert leaks == []


async def test_without_keys_a_service_listens_on_loopback_only_and_says_so(
    amqp_url: str, tmp_path: Path
) -> None:
    namespace = infra.unique("pbnokeys")
    env = {
        "PHOTOBUS_AMQP_URL": amqp_url,
        "PHOTOBUS_NAMESPACE": namespace,
        "PHOTOBUS_BLOB_URL": f"file://{tmp_path}/blobs",
        "PHOTOBUS_BIND_HOST": "0.0.0.0",  # asked for, and refused without keys
        "PHOTOBUS_WORKERS": "1",
    }
    stack = Stack.create("test_access_control_no_keys", env, ["thumbnailer"])
    log = stack.services["thumbnailer"].log_path
    log.unlink(missing_ok=True)
    try:
        await stack.start(timeout=60)
        text = log.read_text()
        assert "no API keys configured: listening on 127.0.0.1 only" in text
        assert "PHOTOBUS_BIND_HOST=0.0.0.0 is ignored" in text
        assert f"listening on http://127.0.0.1:{stack.services['thumbnailer'].port}" in text
    finally:
        stack.stop()
        await delete_namespace(amqp_url, namespace)
