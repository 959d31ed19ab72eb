"""Issue "Publishers": every photo reaches Imgur, Flickr and Google Photos, through the
running services, against the fakes in their own process.

ingest, thumbnailer, status and the three publishers run as processes on the live
RabbitMQ and Postgres; the fakes record every request and upload, and take faults
(429, 500 forever, permanent 400, a held reply) switched on per test.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from photobus_common.events import PhotoReceived, PublishFailed, PublishRetrying, PublishSucceeded
from PIL import Image

from tests.e2e.publishing_stack import (
    PUBLISHERS,
    RETRY_DELAYS,
    PublishingStack,
    poll,
    publishing_stack,
)
from tests.fakes.control import FakeControl
from tests.fakes.faults import Fault
from tests.fakes.recording import RecordedRequest, RecordedUpload
from tests.support.client import CORPUS, upload, wait_job

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

GPS_IFD = 0x8825
UPLOAD_PATHS = {
    "imgur": ("/3/image", "/3/upload"),
    "flickr": ("/services/upload/",),
    "gphotos": ("/v1/mediaItems:batchCreate",),
}


@pytest.fixture(scope="module")
async def pub(amqp_url: str, admin_pg_url: str) -> AsyncIterator[PublishingStack]:
    async with publishing_stack(
        "publishing", amqp_url=amqp_url, admin_pg_url=admin_pg_url
    ) as stack:
        yield stack


@pytest.fixture(autouse=True)
async def no_faults(pub: PublishingStack) -> AsyncIterator[None]:
    """Every test starts and ends with fakes that answer normally."""
    for fake in pub.fakes.values():
        await fake.set_faults()
    yield
    for fake in pub.fakes.values():
        await fake.set_faults()


# -- helpers ---------------------------------------------------------------------------


def fresh_jpeg() -> bytes:
    """A photo no other test has sent (random pixels): its deliveries start from nothing."""
    image = Image.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def photo_of(destination: str, fields: dict[str, str]) -> str | None:
    """Which photo an upload or request carries, by what each publisher sends."""
    if destination == "imgur":
        return fields.get("name")
    if destination == "flickr":
        tags = fields.get("tags") or ""
        return next(
            (t.split("=", 1)[1] for t in tags.split() if t.startswith("photobus:sha256=")), None
        )
    filename = fields.get("filename") or ""
    return filename.split(".", 1)[0] or None


def request_photos(destination: str, request: RecordedRequest) -> list[str]:
    """The photos an upload request was for (Google: the items of a batchCreate)."""
    if request.path not in UPLOAD_PATHS[destination]:
        return []
    if destination == "gphotos":
        items = (request.json or {}).get("newMediaItems", [])
        return [item["simpleMediaItem"]["fileName"].split(".", 1)[0] for item in items]
    photo = photo_of(destination, {k: v[0] for k, v in request.form.items()})
    return [photo] if photo else []


async def uploads_of(fake: FakeControl, destination: str, photo_id: str) -> list[RecordedUpload]:
    return [u for u in await fake.uploads() if photo_of(destination, u.fields) == photo_id]


async def attempts_of(fake: FakeControl, destination: str, photo_id: str) -> list[RecordedRequest]:
    return [r for r in await fake.requests() if photo_id in request_photos(destination, r)]


def single_item(job: dict[str, Any]) -> dict[str, Any]:
    assert len(job["items"]) == 1, job
    item: dict[str, Any] = job["items"][0]
    return item


async def destination_state(
    http: aiohttp.ClientSession, pub: PublishingStack, job_id: str, name: str
) -> str | None:
    """One destination's state for the job's single item; None until status knows the job."""
    async with http.get(f"{pub.url('status')}/v1/jobs/{job_id}") as r:
        if r.status == 404:
            return None
        assert r.status == 200, await r.text()
        state = single_item(await r.json())["destinations"].get(name, {}).get("state")
        return None if state is None else str(state)


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))


# -- Done means ------------------------------------------------------------------------


async def test_a_job_with_title_tags_and_album_reaches_all_three_with_those_fields(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    files = [CORPUS / "camera" / "Canon_40D.jpg", CORPUS / "camera" / "Nikon_D70.jpg"]
    album = f"Holiday album {uuid.uuid4().hex[:6]}"
    reply = await upload(
        http,
        pub.url("ingest"),
        [(f.name, f.read_bytes()) for f in files],
        title="Sea front",
        description="Morning walk",
        tags="beach,summer",
        album=album,
    )
    job = await wait_job(http, pub.url("status"), reply["job_id"])
    assert job["status"] == "completed", job
    # Background work: the publishers run at the lowest CPU priority (niceness 19 and
    # SCHED_IDLE), the others do not.
    ours = os.nice(0)  # the services start at the test runner's niceness
    for name, service in pub.stack.services.items():
        assert service.process is not None
        niceness = os.getpriority(os.PRIO_PROCESS, service.process.pid)
        background = name.startswith("publisher-")
        assert niceness == (max(19, ours) if background else ours), name
        policy = os.sched_getscheduler(service.process.pid)
        assert policy == (os.SCHED_IDLE if background else os.SCHED_OTHER), name
    ids = {hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    links: dict[str, dict[str, str]] = {name: {} for name in PUBLISHERS}
    for item in job["items"]:
        assert item["photo_id"] in ids
        for name in PUBLISHERS:
            state = item["destinations"][name]
            assert state["state"] == "published", (name, state)
            assert state["url"] and state["remote_id"] and not state["duplicate"], state
            links[name][item["photo_id"]] = state["url"]

    imgur, flickr, gphotos = (pub.fakes[name] for name in PUBLISHERS)
    # Imgur: title and description on each image, both in one album made for it.
    imgur_albums = [
        r for r in await imgur.requests() if r.path == "/3/album" and r.field("title") == album
    ]
    assert len(imgur_albums) == 1
    album_ids = set()
    for photo_id in ids:
        (sent,) = await uploads_of(imgur, "imgur", photo_id)
        assert (sent.fields["title"], sent.fields["description"]) == ("Sea front", "Morning walk")
        assert sent.url == links["imgur"][photo_id]
        album_ids.add(sent.fields["album"])
    assert len(album_ids) == 1
    # Flickr: title, description and the tags (plus the machine tag that finds it again);
    # one photoset with this title holds both photos.
    flickr_ids = {}
    for photo_id in ids:
        (sent,) = await uploads_of(flickr, "flickr", photo_id)
        assert (sent.fields["title"], sent.fields["description"]) == ("Sea front", "Morning walk")
        assert {"beach", "summer"} <= set(sent.fields["tags"].split())
        assert sent.url == links["flickr"][photo_id]
        flickr_ids[photo_id] = sent.remote_id
    rest = [r for r in await flickr.requests() if r.path == "/services/rest/"]
    created = [
        r
        for r in rest
        if r.field("method") == "flickr.photosets.create" and r.field("title") == album
    ]
    assert len(created) == 1
    added = {r.field("photo_id") for r in rest if r.field("method") == "flickr.photosets.addPhoto"}
    assert set(flickr_ids.values()) <= {created[0].field("primary_photo_id"), *added}
    # Google Photos: the description carries title, description and tags; one app-created album.
    google_albums = [
        r
        for r in await gphotos.requests()
        if r.path == "/v1/albums" and r.method == "POST" and r.json["album"]["title"] == album
    ]
    assert len(google_albums) == 1
    google_album_ids = set()
    for photo_id in ids:
        (sent,) = await uploads_of(gphotos, "gphotos", photo_id)
        description = sent.fields["description"]
        assert "Sea front" in description and "Morning walk" in description
        assert "#beach" in description and "#summer" in description
        assert sent.url == links["gphotos"][photo_id]
        google_album_ids.add(sent.fields["albumId"])
    assert len(google_album_ids) == 1
    # The seeds' list of Imgur links.
    async with http.get(f"{pub.url('status')}/v1/images") as r:
        assert r.status == 200
        images = (await r.json())["images"]
    assert set(links["imgur"].values()) <= set(images)


async def test_a_photo_in_two_jobs_is_uploaded_once_per_destination(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    photo = (CORPUS / "camera" / "Pentax_K10D.jpg").read_bytes()
    first = await upload(http, pub.url("ingest"), [("first.jpg", photo)], title="first")
    first_item = single_item(await wait_job(http, pub.url("status"), first["job_id"]))
    second = await upload(http, pub.url("ingest"), [("second.jpg", photo)], title="second")
    second_job = await wait_job(http, pub.url("status"), second["job_id"])
    assert second_job["status"] == "completed", second_job
    second_item = single_item(second_job)
    photo_id = hashlib.sha256(photo).hexdigest()
    for name in PUBLISHERS:
        original, again = first_item["destinations"][name], second_item["destinations"][name]
        assert original["state"] == again["state"] == "published", (original, again)
        assert not original["duplicate"] and again["duplicate"], (original, again)
        assert (again["url"], again["remote_id"]) == (original["url"], original["remote_id"])
        (sent,) = await uploads_of(pub.fakes[name], name, photo_id)
        received = [u for u in await pub.fakes[name].uploads() if u.sha256 == sent.sha256]
        assert len(received) == 1, f"{name} received the same bytes {len(received)} times"


async def test_429_with_retry_after_is_honoured_then_published(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    imgur = pub.fakes["imgur"]
    await imgur.set_faults(queue=[Fault.status(429, retry_after="2")] * 2)
    photo = fresh_jpeg()
    photo_id = hashlib.sha256(photo).hexdigest()
    reply = await upload(http, pub.url("ingest"), [("busy.jpg", photo)])
    seen: set[str] = set()

    async def imgur_state() -> bool:
        state = await destination_state(http, pub, reply["job_id"], "imgur")
        seen.add(str(state))
        return state == "published"

    await poll(imgur_state, timeout=60, what="imgur published after two 429s", interval=0.05)
    assert "retrying" in seen, seen
    attempts = await attempts_of(imgur, "imgur", photo_id)
    assert [a.status for a in attempts] == [429, 429, 200]
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= 2.0 for gap in gaps), f"a request came before Retry-After: 2 elapsed: {gaps}"
    retrying = pub.tap.of_type(PublishRetrying, photo_id=photo_id, destination="imgur")
    assert [e.attempt for e in retrying] == [1, 2]
    assert all(e.retry_at > e.occurred_at for e in retrying)
    job = await wait_job(http, pub.url("status"), reply["job_id"])
    assert job["status"] == "completed", job


async def test_a_destination_failing_forever_fails_after_its_tiers_and_slows_no_other(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    flickr = pub.fakes["flickr"]
    await flickr.set_faults(always_status=500)
    photo = fresh_jpeg()
    photo_id = hashlib.sha256(photo).hexdigest()
    reply = await upload(http, pub.url("ingest"), [("down.jpg", photo)])
    job = await wait_job(http, pub.url("status"), reply["job_id"], timeout=90)
    item = single_item(job)
    assert job["status"] == "partial", job
    failed = item["destinations"]["flickr"]
    assert failed["state"] == "failed", failed
    assert "500" in failed["reason"], failed
    assert len(await attempts_of(flickr, "flickr", photo_id)) == 1 + len(RETRY_DELAYS)

    (received,) = pub.tap.of_type(PhotoReceived, photo_id=photo_id)
    (flickr_failed,) = pub.tap.of_type(PublishFailed, photo_id=photo_id, destination="flickr")
    assert not flickr_failed.permanent
    assert (flickr_failed.occurred_at - received.occurred_at).total_seconds() >= sum(RETRY_DELAYS)
    for name in ("imgur", "gphotos"):
        assert item["destinations"][name]["state"] == "published"
        (succeeded,) = pub.tap.of_type(PublishSucceeded, photo_id=photo_id, destination=name)
        assert succeeded.attempt == 1  # not held back by Flickr: first try, no waiting
        assert succeeded.occurred_at < flickr_failed.occurred_at


async def test_a_permanent_error_is_attempted_exactly_once(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    for fake in pub.fakes.values():
        await fake.set_faults(permanent_error=True)
    photo = fresh_jpeg()
    photo_id = hashlib.sha256(photo).hexdigest()
    reply = await upload(http, pub.url("ingest"), [("refused.jpg", photo)])
    job = await wait_job(http, pub.url("status"), reply["job_id"])
    item = single_item(job)
    assert job["status"] == "failed", job
    for name in PUBLISHERS:
        state = item["destinations"][name]
        assert state["state"] == "failed" and state["reason"], (name, state)
        attempts = await attempts_of(pub.fakes[name], name, photo_id)
        assert len(attempts) == 1, f"{name}: {len(attempts)} attempts"
        (event,) = pub.tap.of_type(PublishFailed, photo_id=photo_id, destination=name)
        assert event.permanent


async def test_published_copies_carry_no_gps_and_imgur_gets_jpeg_for_heic(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    gps = sorted((CORPUS / "gps").glob("*.jpg"))
    heic = CORPUS / "heic" / "IMG_5195.HEIC"
    assert all(has_gps(f.read_bytes()) for f in gps)  # the originals do carry a location
    files = [*gps, heic]
    reply = await upload(http, pub.url("ingest"), [(f.name, f.read_bytes()) for f in files])
    job = await wait_job(http, pub.url("status"), reply["job_id"], timeout=90)
    for item in job["items"]:
        for name in PUBLISHERS:
            assert item["destinations"][name]["state"] == "published", (
                item["filename"],
                name,
                item["destinations"][name],
            )
    for f in gps:
        photo_id = hashlib.sha256(f.read_bytes()).hexdigest()
        for name in PUBLISHERS:
            (sent,) = await uploads_of(pub.fakes[name], name, photo_id)
            data = await pub.fakes[name].upload_content(sent.remote_id)
            assert not has_gps(data), f"{name} received {f.name} with its GPS"
    (sent,) = await uploads_of(
        pub.fakes["imgur"], "imgur", hashlib.sha256(heic.read_bytes()).hexdigest()
    )
    assert sent.content_type == "image/jpeg"
    data = await pub.fakes["imgur"].upload_content(sent.remote_id)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"


async def test_a_publisher_killed_mid_upload_publishes_once_after_restart(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    # Each fake stores the upload, then holds its reply: the publisher dies not knowing.
    held = {
        "imgur": Fault.delay(120),
        "flickr": Fault.delay(120),
        "gphotos": Fault.delay(120, route="create"),
    }
    for name, fault in held.items():
        await pub.fakes[name].set_faults(queue=[fault])
    photo = fresh_jpeg()
    photo_id = hashlib.sha256(photo).hexdigest()
    reply = await upload(http, pub.url("ingest"), [("killed.jpg", photo)])
    for name in PUBLISHERS:

        async def stored(name: str = name) -> bool:
            return bool(await uploads_of(pub.fakes[name], name, photo_id))

        await poll(stored, timeout=60, what=f"{name} storing the upload")
    for name in PUBLISHERS:
        pub.stack.kill(f"publisher-{name}")
    await pub.stack.start(*(f"publisher-{name}" for name in PUBLISHERS), timeout=180)
    job = await wait_job(http, pub.url("status"), reply["job_id"], timeout=90)
    assert job["status"] == "completed", job
    item = single_item(job)
    for name in PUBLISHERS:
        # Every destination here can be asked (find_existing): exactly one copy.
        uploads = await uploads_of(pub.fakes[name], name, photo_id)
        assert len(uploads) == 1, f"{name} holds {len(uploads)} copies"
        assert item["destinations"][name]["remote_id"] == uploads[0].remote_id


async def test_a_wrong_flickr_secret_is_refused_once_as_invalid_credentials(
    pub: PublishingStack, http: aiohttp.ClientSession
) -> None:
    flickr = pub.fakes["flickr"]
    pub.stack.kill("publisher-flickr")
    try:
        await pub.stack.start(
            "publisher-flickr",
            timeout=180,
            extra_env={"PHOTOBUS_FLICKR_API_SECRET": "not-the-consumer-secret"},
        )
        photo = fresh_jpeg()
        photo_id = hashlib.sha256(photo).hexdigest()
        started = time.time()
        reply = await upload(http, pub.url("ingest"), [("secret.jpg", photo)])
        job = await wait_job(http, pub.url("status"), reply["job_id"])
        state = single_item(job)["destinations"]["flickr"]
        assert state["state"] == "failed", state
        assert "invalid credentials" in state["reason"], state
        assert "96" in state["reason"] and "Invalid signature" in state["reason"], (
            state
        )  # the fake's own refusal
        attempts = await attempts_of(flickr, "flickr", photo_id)
        assert len(attempts) == 1, f"{len(attempts)} upload attempts: a retry loop"
        refused = [
            r
            for r in await flickr.requests()
            if r.time >= started and r.path.startswith("/services/")
        ]
        assert refused and all(
            r.field("api_key") or r.headers.get("Authorization") for r in refused
        )
        assert not pub.tap.of_type(PublishRetrying, photo_id=photo_id, destination="flickr")
    finally:
        pub.stack.kill("publisher-flickr")
        await pub.stack.start("publisher-flickr", timeout=180, extra_env={})
    # With the right secret the same fake accepts it: a re-publish goes through.
    async with http.post(
        f"{pub.url('status')}/v1/photos/{photo_id}/publish", json={"destination": "flickr"}
    ) as r:
        assert r.status in (200, 202), await r.text()

    async def published() -> bool:
        return await destination_state(http, pub, reply["job_id"], "flickr") == "published"

    await poll(published, timeout=60, what="flickr published after the secret was fixed")
    assert len(await uploads_of(flickr, "flickr", photo_id)) == 1
