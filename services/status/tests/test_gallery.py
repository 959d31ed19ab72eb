"""The web gallery in-process, fed through the real exchange: what each page renders,
that user text is always escaped, the security headers, and "publish again"."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from photobus_common.blobs import rendition_key
from photobus_common.events import (
    Event,
    ImageMetadata,
    ItemOptions,
    JobAccepted,
    JobItem,
    PhotoReceived,
    RenditionInfo,
    ThumbnailCreated,
    parse_event,
)
from photobus_common.topology import exchange_name
from photobus_status.gallery import present
from photobus_status.gallery import routes as gallery_routes
from photobus_status.gallery.security import content_security_policy, origin_of
from photobus_status.queries import DestinationDoc

from services.status.tests.histories import at, failed, photo_id, published, retrying, skipped
from services.status.tests.status_harness import RunningStatus, poll

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
P1, P2, P3 = photo_id(201), photo_id(202), photo_id(203)
INGEST = "http://127.0.0.1:8080"


def _received(job: str, item: str, photo: str, t: float, options: ItemOptions) -> PhotoReceived:
    return PhotoReceived(
        producer="ingest", job_id=job, occurred_at=at(t), item_id=item, photo_id=photo,
        blob_key=f"originals/{photo}", size=2_345_678, content_type="image/jpeg",
        width=4000, height=3000, filename=f"{item}.jpg", options=options,
    )  # fmt: skip


def _rendition(photo: str, name: str, width: int) -> RenditionInfo:
    key = rendition_key(photo, name, "webp")
    return RenditionInfo(
        name=name, key=key, width=width, height=width * 3 // 4, format="webp", bytes=100
    )


def _thumbnailed(photo: str, t: float) -> ThumbnailCreated:
    metadata = ImageMetadata(
        width=4000, height=3000, taken_at=at(-86400), camera_make="Canon",
        camera_model="Canon EOS R5",
    )  # fmt: skip
    return ThumbnailCreated(
        producer="thumbnailer", occurred_at=at(t), photo_id=photo,
        renditions=(_rendition(photo, "thumb", 320), _rendition(photo, "preview", 1600)),
        metadata=metadata,
    )  # fmt: skip


def beach_job(job: str) -> list[Event]:
    """A title and a tag that try to run script. Item a: imgur published, flickr skipped;
    item b: imgur failed, flickr retrying."""
    options = ItemOptions(title=EVIL, tags=(EVIL, "beach"), destinations=("imgur", "flickr"))
    items = (
        JobItem(item_id="a", source="upload", filename="a.jpg"),
        JobItem(item_id="b", source="upload", filename=f"{EVIL}.jpg"),
    )
    return [
        JobAccepted(producer="ingest", job_id=job, occurred_at=at(0), items=items, options=options),
        _received(job, "a", P1, 1, options),
        _received(job, "b", P2, 2, options),
        _thumbnailed(P1, 3),
        published(job, "a", P1, "imgur", 4),
        skipped(job, "a", P1, "flickr", 5),
        failed(job, "b", P2, "imgur", 6),
        retrying(job, "b", P2, "flickr", 7, attempt=2),
    ]


def hill_job(job: str) -> list[Event]:
    options = ItemOptions(title="Hill", tags=("mountain",), destinations=("imgur",))
    items = (JobItem(item_id="c", source="upload", filename="c.jpg"),)
    return [
        JobAccepted(
            producer="ingest", job_id=job, occurred_at=at(10), items=items, options=options
        ),
        _received(job, "c", P3, 11, options),
    ]


def item_of(doc: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in doc["items"] if i["item_id"] == item_id)


BEACH_STATES = {
    "a": ("thumbnailed", {"imgur": "published", "flickr": "skipped"}),
    "b": ("", {"imgur": "failed", "flickr": "retrying"}),
}


def states(doc: dict[str, Any]) -> dict[str, tuple[str, dict[str, str]]]:
    """Each item's thumbnail and destination states: what the pages below assert on."""
    return {
        item["item_id"]: (
            "thumbnailed" if item["thumbnails"] else "",
            {name: d["state"] for name, d in item["destinations"].items()},
        )
        for item in doc["items"]
    }


async def fold(status: RunningStatus) -> tuple[str, str]:
    """Both jobs, folded: (beach job id, hill job id)."""
    beach, hill = f"job-{uuid.uuid4().hex}", f"job-{uuid.uuid4().hex}"
    await status.broker.publish(*beach_job(beach), *hill_job(hill))
    await status.job_when(beach, lambda d: states(d) == BEACH_STATES)
    await status.job_when(hill, lambda d: item_of(d, "c")["photo_id"] == P3)
    return beach, hill


async def page(status: RunningStatus, path: str, expect: int = 200) -> str:
    response = await status.client.get(path)
    text = await response.text()
    assert response.status == expect, text
    assert response.content_type == "text/html"
    return text


def tiles(html: str) -> list[str]:
    """The photo ids of the grid's tiles, in order."""
    return [chunk.split('"', 1)[0] for chunk in html.split('class="tile" data-photo-id="')[1:]]


async def test_the_grid_shows_photos_newest_first_with_their_badges(status: RunningStatus) -> None:
    await fold(status)

    html = await page(status, "/")

    assert tiles(html) == [P3, P2, P1]
    assert '<meta name="viewport"' in html
    assert f'src="/v1/photos/{P1}/renditions/thumb"' in html
    assert 'data-destination="imgur" data-state="published"' in html
    assert f'href="https://imgur.example/{P1[:6]}"' in html
    assert 'data-destination="flickr" data-state="skipped"' in html
    assert "not_configured" in html
    assert 'data-destination="imgur" data-state="failed"' in html
    assert "rejected by destination" in html
    assert "retrying at 2026-01-01 00:00:37 UTC" in html  # the retry_at, in UTC
    assert 'data-destination="imgur" data-state="pending"' in html  # P3: no publisher said yet


async def test_the_grid_filters_by_tag_destination_and_state(status: RunningStatus) -> None:
    await fold(status)

    assert tiles(await page(status, "/?tag=mountain")) == [P3]
    assert tiles(await page(status, "/?tag=beach")) == [P2, P1]
    assert tiles(await page(status, "/?destination=imgur&state=failed")) == [P2]
    assert tiles(await page(status, "/?destination=flickr&state=skipped")) == [P1]
    # Unknown filter values are ignored rather than failing the page.
    assert tiles(await page(status, "/?destination=myspace&state=weird")) == [P3, P2, P1]
    assert "No photos match these filters" in await page(status, "/?tag=nothing")


async def test_the_grid_pages_on_with_the_cursor(
    status: RunningStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fold(status)
    monkeypatch.setattr(gallery_routes, "PAGE_SIZE", 1)

    first = await page(status, "/?tag=beach")
    older = first.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert older.startswith("/?tag=beach&amp;cursor=")  # the filters carry over, escaped
    second = await page(status, older.replace("&amp;", "&"))

    assert (tiles(first), tiles(second)) == ([P2], [P1])
    assert 'rel="next"' not in second
    assert 'href="/?tag=beach"' in second  # back to the newest
    assert "cursor is not valid" in await page(status, "/?cursor=forged", expect=400)


async def test_user_text_is_escaped_on_every_page(status: RunningStatus) -> None:
    beach, _ = await fold(status)

    for path in ("/", "/?tag=" + EVIL, f"/photos/{P1}", f"/photos/{P2}", f"/jobs/{beach}"):
        html = await page(status, path)
        assert "<script>alert" not in html, path
        assert ESCAPED in html, path
    # Tag links are URL-encoded, not just HTML-escaped.
    assert 'href="/?tag=%3Cscript%3Ealert%281%29%3C/script%3E"' in await page(status, "/")


async def test_the_photo_page_shows_preview_metadata_tags_and_destinations(
    status: RunningStatus,
) -> None:
    beach, _ = await fold(status)

    html = await page(status, f"/photos/{P1}")

    assert f'src="/v1/photos/{P1}/renditions/preview"' in html
    assert "2025-12-31 00:00:00 UTC" in html  # taken at
    assert "<dd>Canon EOS R5</dd>" in html  # the make is not repeated
    assert "4000 × 3000 px, 2.3 MB (image/jpeg)" in html
    assert 'href="/?tag=beach"' in html
    assert f'href="/jobs/{beach}"' in html
    assert html.count('name="destination"') == 2  # imgur and flickr: what this deployment runs
    assert 'value="imgur"' in html and 'value="flickr"' in html

    no_preview = await page(status, f"/photos/{P2}")
    assert "The preview is being made" in no_preview
    assert 'data-destination="imgur" data-state="failed"' in no_preview


async def test_the_job_page_renders_the_items_and_follows_the_events_stream(
    status: RunningStatus,
) -> None:
    beach, _ = await fold(status)

    html = await page(status, f"/jobs/{beach}")

    assert f'data-events-url="/v1/jobs/{beach}/events"' in html
    assert 'data-status="processing"' in html
    assert "1 of 2 items done" in html  # a: thumbnailed, published and skipped; b: retrying
    assert html.count('class="item item-') == 2
    assert f"{ESCAPED}.jpg" in html
    assert '<script src="/gallery/static/gallery.js" defer></script>' in html


async def test_unknown_photos_and_jobs_are_html_404s(
    status: RunningStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery_routes, "JOB_APPEARS_WITHIN", 0.1)

    for path in (
        f"/photos/{photo_id(999)}",
        "/photos/not-a-hash",
        "/jobs/nope",
        "/jobs/" + "x" * 300,
    ):
        assert "There is no" in await page(status, path, expect=404)


async def test_the_upload_form_posts_to_ingest(status: RunningStatus) -> None:
    html = await page(status, "/upload")

    assert f'data-ingest-url="{INGEST}/v1/jobs"' in html
    assert f'action="{INGEST}/v1/jobs"' in html
    assert 'type="file"' in html and "multiple" in html
    for destination in ("imgur", "flickr", "gphotos"):
        assert f'name="destinations" value="{destination}" checked' in html


async def test_every_gallery_response_carries_the_security_headers(
    status: RunningStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gallery_routes, "JOB_APPEARS_WITHIN", 0.1)
    beach, _ = await fold(status)

    for path in (
        "/",
        "/upload",
        f"/photos/{P1}",
        f"/jobs/{beach}",
        "/jobs/nope",
        "/gallery/static/gallery.js",
        "/gallery/static/gallery.css",
    ):
        response = await status.client.get(path)
        await response.read()
        headers = response.headers
        csp = headers.get("Content-Security-Policy", "")
        assert "script-src 'self';" in csp, path
        assert f"connect-src 'self' {INGEST};" in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("Referrer-Policy") == "same-origin", path
    script = await status.client.get("/gallery/static/gallery.js")
    assert script.content_type in ("application/javascript", "text/javascript")


@pytest.fixture
async def commands_queue(
    amqp_url: str, status: RunningStatus
) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue of the test's own that hears every publish command status emits."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    exchange = await channel.get_exchange(exchange_name(status.settings.namespace))
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, "publish.requested.*")
    yield queue
    await connection.close()


async def test_publish_again_requests_a_publish_and_returns_to_the_photo(
    status: RunningStatus, commands_queue: aio_pika.abc.AbstractQueue
) -> None:
    await fold(status)

    response = await status.client.post(
        f"/photos/{P2}/publish",
        data={"destination": "imgur"},
        headers={"Origin": str(status.client.make_url("")).rstrip("/")},
        allow_redirects=False,
    )

    assert response.status == 303
    assert response.headers["Location"] == f"/photos/{P2}?requested=imgur"
    message = await poll(lambda: commands_queue.get(fail=False, no_ack=True), timeout=10)
    event = parse_event(message.body)
    assert event.type == "publish.requested"
    assert (event.photo_id, event.destination) == (P2, "imgur")
    assert "Asked imgur to publish this photo again" in await page(
        status, f"/photos/{P2}?requested=imgur"
    )


async def test_publish_again_refuses_other_sites_and_unknown_destinations(
    status: RunningStatus, commands_queue: aio_pika.abc.AbstractQueue
) -> None:
    await fold(status)
    url = f"/photos/{P1}/publish"

    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await status.client.post(url, data={"destination": "imgur"}, headers=headers)
        assert response.status == 403, headers
        assert "sent from another site" in await response.text()
    for destination in ("gphotos", "myspace", ""):  # gphotos: not deployed here
        response = await status.client.post(url, data={"destination": destination})
        assert response.status == 400, destination
        assert "Choose one of the listed destinations" in await response.text()
    response = await status.client.post(
        f"/photos/{photo_id(999)}/publish", data={"destination": "imgur"}
    )
    assert response.status == 404
    assert await commands_queue.get(fail=False, no_ack=True) is None


def test_badges_word_every_delivery_state() -> None:
    def word(**doc: Any) -> tuple[str, str | None, str | None]:
        b = present.badge("imgur", DestinationDoc.model_validate(doc))
        return b.text, b.href, b.detail

    assert word(state="published", url="https://i.example/1") == (
        "published",
        "https://i.example/1",
        None,
    )
    assert word(state="published", url="javascript:alert(1)") == ("published", None, None)
    assert word(state="published", url="https://i.example/1", duplicate=True)[0] == (
        "published (already there)"
    )
    assert word(state="retrying", retry_at=at(5), reason="429") == (
        "retrying at 2026-01-01 00:00:05 UTC",
        None,
        "429",
    )
    assert word(state="failed", reason="too big") == ("failed", None, "too big")
    assert word(state="skipped", reason="not_configured") == ("skipped", None, "not_configured")
    assert word(state="pending") == ("pending", None, None)
    assert present.badge("imgur", None).state == "unrequested"


def test_destinations_are_listed_in_one_order_everywhere() -> None:
    listed = present.in_order({"gphotos": 1, "zeta": 2, "imgur": 3, "flickr": 4, "alpha": 5})
    assert [name for name, _ in listed] == ["imgur", "flickr", "gphotos", "alpha", "zeta"]


def test_sizes_and_cameras_read_naturally() -> None:
    assert [present.size(n) for n in (None, 999, 1000, 2_345_678, 10**13)] == [
        "",
        "999 bytes",
        "1.0 KB",
        "2.3 MB",
        "10.0 TB",
    ]
    assert present.camera("Canon", "Canon EOS R5") == "Canon EOS R5"
    assert present.camera("FUJIFILM", "X-T4") == "FUJIFILM X-T4"
    assert present.camera(None, None) == ""


def test_the_policy_names_ingest_only_when_it_is_another_origin() -> None:
    assert origin_of("http://127.0.0.1:8080/some/path") == "http://127.0.0.1:8080"
    assert origin_of("/") is None
    assert "connect-src 'self';" in content_security_policy("")
    policy = content_security_policy("https://photos.example/ingest")
    assert "form-action 'self' https://photos.example;" in policy
    assert policy.endswith("base-uri 'none'")
