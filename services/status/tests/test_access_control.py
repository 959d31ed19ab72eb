"""Status with `PHOTOBUS_API_KEYS`: every route but health, metrics and the document needs a
key; a job is its owner's alone (another key gets 404, not 403), and a photo is visible to
each owner who uploaded it, with that owner's own titles, tags and jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from photobus_common.auth import hash_key
from photobus_common.blobs import rendition_key
from photobus_common.events import ItemOptions

from services.status.tests.histories import accepted, photo_id, received, thumbnailed, upload
from services.status.tests.status_harness import RunningStatus, poll, running_status
from tests.support import infra

ALICE = {"Authorization": "Bearer alice-status-key-5d0c"}
BOB = {"X-API-Key": "bob-status-key-e7a1"}
KEYS = f"alice:{hash_key('alice-status-key-5d0c')},bob:{hash_key('bob-status-key-e7a1')}"
ALICES, SHARED, BOBS = photo_id(201), photo_id(202), photo_id(203)


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
    ) as running:
        yield running


@pytest.fixture
async def two_owners(status: RunningStatus) -> tuple[str, str]:
    """Alice's job has her photo and the shared one; Bob's has the shared one and his."""
    alice_job, bob_job = "job-alice-7f3a", "job-bob-91cc"
    bobs_options = ItemOptions(title="bob's title", tags=("bobs-tag",))
    await status.broker.publish(
        accepted(alice_job, [upload("a1"), upload("a2")], 0, owner="alice"),
        received(alice_job, "a1", ALICES, 1, owner="alice"),
        received(alice_job, "a2", SHARED, 2, owner="alice"),
        accepted(bob_job, [upload("b1"), upload("b2")], 3, owner="bob"),
        received(bob_job, "b1", SHARED, 4, owner="bob").model_copy(
            update={"options": bobs_options}
        ),
        received(bob_job, "b2", BOBS, 5, owner="bob").model_copy(update={"options": bobs_options}),
        thumbnailed(ALICES, 6),
    )
    for photo, headers in ((ALICES, ALICE), (SHARED, BOB), (BOBS, BOB)):
        await poll(lambda p=photo, h=headers: _photo(status, p, h))  # type: ignore[misc]
    await status.blobs.put_bytes(
        rendition_key(ALICES, "thumb", "webp"), b"RIFF....WEBPVP8 ", content_type="image/webp"
    )
    return alice_job, bob_job


async def _photo(status: RunningStatus, photo: str, headers: dict[str, str]) -> Any:
    response = await status.client.get(f"/v1/photos/{photo}", headers=headers)
    return await response.json() if response.status == 200 else None


async def test_every_route_needs_a_key(status: RunningStatus) -> None:
    for path in (
        "/v1/jobs/job-x",
        "/v1/jobs/job-x/events",
        "/v1/photos",
        f"/v1/photos/{ALICES}",
        f"/v1/photos/{ALICES}/renditions/thumb",
        "/v1/images",
        "/v1/images/uploaded/job-x",
    ):
        for headers in ({}, {"Authorization": "Bearer wrong-status-secret"}):
            response = await status.client.get(path, headers=headers)
            assert response.status == 401, (path, headers)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "wrong-status-secret" not in await response.text()
    for path in (f"/v1/photos/{ALICES}/publish", f"/v1/photos/{ALICES}/thumbnails"):
        response = await status.client.post(path, json={"destination": "imgur"})
        assert response.status == 401, path


async def test_health_readiness_metrics_and_the_document_stay_open(status: RunningStatus) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert (await status.client.get(path)).status == 200, path


async def test_a_job_is_its_owners_alone(
    status: RunningStatus, two_owners: tuple[str, str]
) -> None:
    alice_job, bob_job = two_owners
    client = status.client
    assert (await client.get(f"/v1/jobs/{alice_job}", headers=ALICE)).status == 200
    for path in (f"/v1/jobs/{alice_job}", f"/v1/images/uploaded/{alice_job}"):
        theirs = await client.get(path, headers=BOB)
        assert theirs.status == 404, path  # not 403: a job id reveals nothing
        assert (await theirs.json())["error"] == "not_found"
    assert (await client.get(f"/v1/images/uploaded/{bob_job}", headers=BOB)).status == 200
    stream = await client.get(f"/v1/jobs/{alice_job}/events", headers=BOB)
    assert stream.status == 404


async def test_a_job_read_from_the_cache_is_still_its_owners_alone(
    status: RunningStatus, two_owners: tuple[str, str]
) -> None:
    alice_job, _ = two_owners
    client = status.client
    mine = [await client.get(f"/v1/jobs/{alice_job}", headers=ALICE) for _ in range(3)]
    assert [r.status for r in mine] == [200, 200, 200]  # rendered once, then kept
    etag = mine[-1].headers["ETag"]
    for headers in (BOB, {**BOB, "If-None-Match": etag}):
        assert (await client.get(f"/v1/jobs/{alice_job}", headers=headers)).status == 404
    assert (await client.get(f"/v1/jobs/{alice_job}")).status == 401
    again = await client.get(f"/v1/jobs/{alice_job}", headers={**ALICE, "If-None-Match": etag})
    assert again.status == 304


async def test_photos_are_listed_only_to_those_who_uploaded_them(
    status: RunningStatus, two_owners: tuple[str, str]
) -> None:
    alice_job, bob_job = two_owners
    listed = {}
    for name, headers in (("alice", ALICE), ("bob", BOB)):
        response = await status.client.get("/v1/photos", headers=headers)
        assert response.status == 200
        listed[name] = {p["photo_id"]: p for p in (await response.json())["photos"]}
    assert set(listed["alice"]) == {ALICES, SHARED}
    assert set(listed["bob"]) == {SHARED, BOBS}
    # The shared photo shows each owner their own upload of it, nothing of the other's.
    assert listed["bob"][SHARED]["jobs"] == [bob_job]
    assert listed["bob"][SHARED]["titles"] == ["bob's title"]
    assert listed["bob"][SHARED]["tags"] == ["bobs-tag"]
    assert listed["alice"][SHARED]["jobs"] == [alice_job]
    assert "bobs-tag" not in listed["alice"][SHARED]["tags"]
    # Filtering by tag sees only the caller's own tags too.
    for tag, headers, expected in (
        ("pets", BOB, set()),
        ("bobs-tag", BOB, {SHARED, BOBS}),
        ("pets", ALICE, {ALICES, SHARED}),
        ("bobs-tag", ALICE, set()),
    ):
        tagged = await status.client.get(f"/v1/photos?tag={tag}", headers=headers)
        assert {p["photo_id"] for p in (await tagged.json())["photos"]} == expected, tag


async def test_another_owners_photo_is_a_404_everywhere(
    status: RunningStatus, two_owners: tuple[str, str]
) -> None:
    client = status.client
    rendition = f"/v1/photos/{ALICES}/renditions/thumb"
    mine = await client.get(rendition, headers=ALICE)
    assert mine.status == 200
    assert mine.headers["Cache-Control"].startswith("private")
    assert (await client.get(rendition, headers=BOB)).status == 404
    assert (await client.get(f"/v1/photos/{ALICES}", headers=BOB)).status == 404
    for command in ("publish", "thumbnails"):
        path = f"/v1/photos/{ALICES}/{command}"
        response = await client.post(path, json={"destination": "imgur"}, headers=BOB)
        assert response.status == 404, command
    # Re-publishing is for an owner of the photo: either owner of the shared one may.
    for headers in (ALICE, BOB):
        response = await client.post(
            f"/v1/photos/{SHARED}/publish", json={"destination": "imgur"}, headers=headers
        )
        assert response.status == 202, await response.text()
