"""The status API in-process, fed through the real exchange: jobs, photos, renditions, seeds,
and the re-publish / re-thumbnail commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import pytest
from photobus_common.blobs import rendition_key
from photobus_common.broker import PublishError
from photobus_common.events import Event, parse_event
from photobus_common.service import BROKER
from photobus_common.topology import exchange_name
from photobus_status import queries
from photobus_status.routes import jobs

from services.status.tests.histories import (
    accepted,
    failed,
    photo_id,
    published,
    received,
    skipped,
    thumbnailed,
    upload,
)
from services.status.tests.status_harness import RunningStatus, poll

P1, P2 = photo_id(101), photo_id(102)


def job_history(job: str) -> list[Event]:
    """Item a: published to imgur, skipped by flickr. Item b: imgur failed, flickr published."""
    return [
        accepted(job, [upload("a"), upload("b")], 0),
        received(job, "a", P1, 1),
        received(job, "b", P2, 2),
        thumbnailed(P1, 3),
        thumbnailed(P2, 4),
        published(job, "a", P1, "imgur", 5),
        skipped(job, "a", P1, "flickr", 6),
        failed(job, "b", P2, "imgur", 7),
        published(job, "b", P2, "flickr", 8),
    ]


def new_job() -> str:
    return f"job-{uuid.uuid4().hex}"


def is_terminal(doc: dict[str, Any]) -> bool:
    return doc["status"] in {"completed", "partial", "failed"}


async def test_a_job_history_folds_into_the_job_view(status: RunningStatus) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job))

    doc = await status.job_when(job, is_terminal)

    assert doc["status"] == "partial"
    items = {i["item_id"]: i for i in doc["items"]}
    assert items["a"]["state"] == "completed"
    assert items["a"]["photo_id"] == P1
    assert items["a"]["destinations"]["imgur"]["state"] == "published"
    assert items["a"]["destinations"]["flickr"]["state"] == "skipped"
    assert items["b"]["state"] == "partial"
    assert items["b"]["destinations"]["imgur"]["state"] == "failed"
    assert items["a"]["thumbnails"]["thumb"]["url"] == f"/v1/photos/{P1}/renditions/thumb"


async def test_text_holding_a_nul_character_still_folds_into_the_job_view(
    status: RunningStatus,
) -> None:
    # Postgres takes no NUL in text or jsonb: the title (from an upload form) and the
    # reason (from a remote API) arrive with U+FFFD in its place, and the job folds.
    job = new_job()
    first = accepted(job, [upload("a")], 0)
    events = [
        first.model_copy(update={"options": first.options.model_copy(update={"title": "c\x00t"})}),
        received(job, "a", P1, 1),
        thumbnailed(P1, 2),
        failed(job, "a", P1, "imgur", 3).model_copy(update={"reason": "bad\x00byte"}),
        published(job, "a", P1, "flickr", 4),
        published(job, "a", P1, "gphotos", 5),
    ]
    await status.broker.publish(*events)

    doc = await status.job_when(job, is_terminal)

    imgur = doc["items"][0]["destinations"]["imgur"]
    assert (imgur["state"], imgur["reason"]) == ("failed", "bad\ufffdbyte")
    assert "c\ufffdt" in json.dumps(doc, ensure_ascii=False)


async def test_destinations_stay_pending_while_publishers_are_silent(
    status: RunningStatus,
) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job)[:4])

    doc = await status.job_when(
        job, lambda d: any(i["thumbnails"] for i in d["items"] if i["item_id"] == "a")
    )

    item = next(i for i in doc["items"] if i["item_id"] == "a")
    assert {d["state"] for d in item["destinations"].values()} == {"pending"}
    assert doc["status"] == "processing"


async def test_unknown_things_are_json_404s(
    status: RunningStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "JOB_APPEARS_WITHIN", 0.1)
    for path in (
        "/v1/jobs/nope",
        "/v1/jobs/nope/events",
        f"/v1/photos/{P1}",
        "/v1/photos/not-a-hash",
        "/v1/images/uploaded/nope",
        "/no/such/route",
    ):
        response = await status.client.get(path)
        assert response.status == 404, path
        body = await response.json()
        assert set(body) == {"error", "detail"}, path


async def test_a_nul_character_in_the_url_is_a_4xx_not_a_500(status: RunningStatus) -> None:
    # Found by schemathesis (GET /v1/photos?state=%00...): Postgres takes no NUL in text.
    for path, code in (
        ("/v1/photos?state=%00", 400),
        ("/v1/photos?tag=a%00b&destination=imgur", 400),
        ("/v1/photos?destination=%00", 400),
        ("/?tag=%00", 400),  # the gallery
        ("/v1/jobs/job%00x", 404),  # no id holds one
        ("/v1/images/uploaded/job%00x", 404),
    ):
        response = await status.client.get(path)
        assert response.status == code, path
        assert set(await response.json()) == {"error", "detail"}, path


async def test_photos_are_listed_newest_first_with_a_cursor(status: RunningStatus) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job))
    await status.job_when(job, is_terminal)

    first = await (await status.client.get("/v1/photos?limit=1")).json()
    assert [p["photo_id"] for p in first["photos"]] == [P2]
    assert first["next_cursor"]
    second = await (
        await status.client.get("/v1/photos", params={"limit": "1", "cursor": first["next_cursor"]})
    ).json()
    assert [p["photo_id"] for p in second["photos"]] == [P1]
    assert second["next_cursor"] is None

    tagged = await (await status.client.get("/v1/photos?tag=pets&destination=imgur")).json()
    assert {p["photo_id"] for p in tagged["photos"]} == {P1, P2}
    failed_imgur = await (
        await status.client.get("/v1/photos?destination=imgur&state=failed")
    ).json()
    assert [p["photo_id"] for p in failed_imgur["photos"]] == [P2]

    photo = await (await status.client.get(f"/v1/photos/{P1}")).json()
    assert photo["destinations"]["imgur"]["state"] == "published"
    assert photo["thumbnails"]["thumb"]["url"] == f"/v1/photos/{P1}/renditions/thumb"

    for query in ("limit=0", "limit=abc", "cursor=garbage!"):
        response = await status.client.get(f"/v1/photos?{query}")
        assert response.status == 400, query


async def test_seed_routes_keep_their_shapes(status: RunningStatus) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job))
    await status.job_when(job, is_terminal)

    response = await status.client.get(f"/v1/images/uploaded/{job}")
    assert response.status == 200
    summary = await response.json()
    assert set(summary) == {"id", "status", "created", "finished", "uploaded"}
    assert summary["id"] == job
    assert summary["finished"] is not None
    assert set(summary["uploaded"]) == {"pending", "completed", "failed"}
    assert summary["uploaded"]["completed"] == [f"https://imgur.example/{P1[:6]}", "b.jpg"]

    images = await (await status.client.get("/v1/images")).json()
    assert images == {"images": [f"https://imgur.example/{P1[:6]}"]}


async def test_renditions_stream_with_immutable_caching(status: RunningStatus) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job))
    await status.job_when(job, is_terminal)  # the view knows both photos' renditions
    data = b"RIFF\x00\x00\x00\x00WEBPVP8 fake"
    await status.blobs.put_bytes(
        rendition_key(P1, "thumb", "webp"), data, content_type="image/webp"
    )
    url = f"/v1/photos/{P1}/renditions/thumb"

    response = await status.client.get(url)

    assert response.status == 200
    assert await response.read() == data
    assert response.headers["Content-Type"] == "image/webp"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = response.headers["ETag"]
    again = await status.client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304
    # The format is the one the thumbnailer reported: the preview is a JPEG.
    jpeg = b"\xff\xd8\xff\xe0 fake preview"
    await status.blobs.put_bytes(
        rendition_key(P1, "preview", "jpeg"), jpeg, content_type="image/jpeg"
    )
    preview = await status.client.get(f"/v1/photos/{P1}/renditions/preview")
    assert preview.status == 200 and await preview.read() == jpeg
    assert preview.headers["Content-Type"] == "image/jpeg"
    for missing in (
        f"/v1/photos/{P2}/renditions/preview",
        f"/v1/photos/{P1}/renditions/original",
        f"/v1/photos/{P1.upper()}/renditions/thumb",
        "/v1/photos/..%2F..%2Fetc/renditions/thumb",
    ):
        assert (await status.client.get(missing)).status == 404, missing


@pytest.fixture
async def commands_queue(
    amqp_url: str, status: RunningStatus
) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue of the test's own that hears every command the status API emits."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(exchange_name(status.settings.namespace))
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, "publish.requested.*")
    await queue.bind(exchange, "thumbnail.requested")
    yield queue
    await connection.close()


async def next_event(queue: aio_pika.abc.AbstractQueue) -> Event:
    message = await poll(lambda: queue.get(fail=False, no_ack=True), timeout=10)
    return parse_event(message.body)


async def test_publish_again_emits_a_confirmed_request(
    status: RunningStatus, commands_queue: aio_pika.abc.AbstractQueue
) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job))
    await status.job_when(job, is_terminal)

    response = await status.client.post(f"/v1/photos/{P2}/publish", json={"destination": "imgur"})

    assert response.status == 202
    assert await response.json() == {"photo_id": P2, "destination": "imgur", "status": "requested"}
    event = await next_event(commands_queue)
    assert event.type == "publish.requested"
    assert (event.photo_id, event.destination) == (P2, "imgur")
    # The failed destination goes back to pending once the request is folded.
    await status.job_when(
        job,
        lambda d: (
            next(i for i in d["items"] if i["item_id"] == "b")["destinations"]["imgur"]["state"]
            == "pending"
        ),
    )

    response = await status.client.post(f"/v1/photos/{P2}/thumbnails")
    assert response.status == 202
    assert (await next_event(commands_queue)).type == "thumbnail.requested"


async def test_publish_again_refuses_what_it_cannot_do(
    status: RunningStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = new_job()
    await status.broker.publish(*job_history(job))
    await status.job_when(job, is_terminal)
    url = f"/v1/photos/{P1}/publish"

    for body in ({"destination": "myspace"}, {"destination": "gphotos"}, {}, [1]):
        response = await status.client.post(url, data=json.dumps(body))
        assert response.status == 400, body
        assert (await response.json())["error"] == "unknown_destination"
    unknown = photo_id(999)
    response = await status.client.post(
        f"/v1/photos/{unknown}/publish", json={"destination": "imgur"}
    )
    assert response.status == 404

    async def unconfirmed(*events: Event) -> None:
        raise PublishError("RabbitMQ is unavailable")

    monkeypatch.setattr(status.client.app[BROKER], "publish", unconfirmed)
    response = await status.client.post(url, json={"destination": "imgur"})
    thumbnails = await status.client.post(f"/v1/photos/{P1}/thumbnails")
    for answer in (response, thumbnails):
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "5"
        assert (await answer.json())["error"] == "broker_unavailable"


async def test_a_database_outage_is_a_503_and_a_bug_a_json_500(
    status: RunningStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("connection refused")

    async def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError

    async def ended_session(*args: object, **kwargs: object) -> None:
        raise asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        )

    outages = []
    for failure in (refused, ended_session):
        monkeypatch.setattr(queries, "job_body", failure)
        outages.append(await status.client.get("/v1/jobs/some-job"))
    monkeypatch.setattr(queries, "job_body", broken)
    bug = await status.client.get("/v1/jobs/some-job")

    for outage in outages:
        assert outage.status == 503
        assert outage.headers["Retry-After"] == "5"
        assert (await outage.json())["error"] == "database_unavailable"
    assert bug.status == 500
    assert (await bug.json())["error"] == "internal_error"


async def test_health_readiness_and_metrics(status: RunningStatus) -> None:
    assert (await status.client.get("/healthz")).status == 200
    ready = await status.client.get("/readyz")
    assert await ready.json() == {"status": "ready"}
    metrics = await status.client.get("/metrics")
    assert "photobus_http_requests_total" in await metrics.text()


async def test_openapi_describes_every_route(status: RunningStatus) -> None:
    spec = await (await status.client.get("/openapi.json")).json()

    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]["/v1/photos/{photo_id}"]) == {"get"}
    assert "post" in spec["paths"]["/v1/photos/{photo_id}/publish"]
    events = spec["paths"]["/v1/jobs/{job_id}/events"]["get"]
    assert events["summary"].startswith("`event: job`")
    assert events["parameters"][0]["name"] == "job_id"
