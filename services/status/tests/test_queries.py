"""The read side: job documents, photo lists with cursors, and the seed's summaries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from photobus_common.events import Event, JobItem
from photobus_status.queries import (
    InvalidCursorError,
    get_job,
    get_photo,
    imgur_links,
    list_photos,
    seed_job_summary,
)
from photobus_status.store import EventStore

from services.status.tests.histories import (
    accepted,
    failed,
    photo_id,
    published,
    received,
    rejected,
    skipped,
    thumbnailed,
    upload,
)
from services.status.tests.pg import empty, migrated_pool

PHOTOS = [photo_id(n) for n in range(5)]
URL = "https://example.com/cat.jpg"


@pytest.fixture(scope="module")
async def pool(admin_pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with migrated_pool(admin_pg_url) as pool:
        await empty(pool)
        await EventStore(pool, terminal_destinations_required=True).apply(history())
        yield pool


def history() -> list[Event]:
    """alice's job-1 uploads photos 0–3 (0 and 1 published to imgur, 2 fails there) plus a
    URL that is no image; bob's job-2 uploads photo 4 and alice's photo 0 again."""
    items = [upload(f"i{n}") for n in range(4)]
    events: list[Event] = [
        accepted("job-1", [*items, JobItem(item_id="u", source="url", url=URL)], 0),
        rejected("job-1", "u", 1),
        accepted("job-2", [upload("b0"), upload("b1")], 50, owner="bob"),
        received("job-2", "b0", PHOTOS[4], 51, owner="bob"),
        received("job-2", "b1", PHOTOS[0], 52, owner="bob"),
        thumbnailed(PHOTOS[4], 53),
        published("job-2", "b1", PHOTOS[0], "imgur", 54, duplicate=True),
    ]
    for n, photo in enumerate(PHOTOS[:4]):
        events += [received("job-1", f"i{n}", photo, 10 + n), thumbnailed(photo, 20 + n)]
        events.append(skipped("job-1", f"i{n}", photo, "flickr", 30 + n))
    events += [
        published("job-1", "i0", PHOTOS[0], "imgur", 40),
        published("job-1", "i1", PHOTOS[1], "imgur", 41),
        failed("job-1", "i2", PHOTOS[2], "imgur", 42),
    ]
    return events


async def test_get_job_renders_items_in_declared_order(pool: asyncpg.Pool) -> None:
    job = await get_job(pool, "job-1")
    assert job is not None
    assert job.status == "processing"  # i3 still waits for imgur
    assert [i.item_id for i in job.items] == ["i0", "i1", "i2", "i3", "u"]
    first = job.items[0]
    assert first.photo_id == PHOTOS[0]
    assert {n: t.format for n, t in first.thumbnails.items()} == {
        "preview": "jpeg",
        "thumb": "webp",
    }
    assert first.metadata is not None
    assert first.destinations["imgur"].url == f"https://imgur.example/{PHOTOS[0][:6]}"
    assert first.destinations["flickr"].state == "skipped"
    assert (job.items[2].state, job.items[2].reason) == (
        "failed",
        "imgur: rejected by destination",
    )
    assert (job.items[4].state, job.items[4].url) == ("failed", URL)
    assert job.options is not None
    assert job.options.tags == ("pets", "cats")


async def test_get_job_hides_other_owners_jobs(pool: asyncpg.Pool) -> None:
    assert await get_job(pool, "job-1", owner="bob") is None
    assert await get_job(pool, "missing") is None
    assert await get_job(pool, "job-2", owner="bob") is not None


async def test_list_photos_pages_newest_first(pool: asyncpg.Pool) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await list_photos(pool, cursor=cursor, limit=2)
        seen += [p.photo_id for p in page.photos]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [PHOTOS[4], PHOTOS[3], PHOTOS[2], PHOTOS[1], PHOTOS[0]]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"owner": "bob"}, [4, 0]),
        ({"owner": "carol"}, []),
        ({"tag": "cats"}, [4, 3, 2, 1, 0]),
        ({"tag": "dogs"}, []),
        ({"destination": "imgur", "state": "published"}, [1, 0]),
        ({"destination": "imgur", "state": "failed"}, [2]),
        ({"destination": "flickr"}, [4, 3, 2, 1, 0]),
        ({"state": "processing"}, [4, 3]),
        ({"state": "completed"}, [1, 0]),
        ({"state": "failed"}, [2]),
    ],
)
async def test_list_photos_filters(
    pool: asyncpg.Pool, filters: dict[str, str], expected: list[int]
) -> None:
    page = await list_photos(pool, limit=50, **filters)
    assert [p.photo_id for p in page.photos] == [PHOTOS[n] for n in expected]
    assert page.next_cursor is None


async def test_list_photos_refuses_a_forged_cursor(pool: asyncpg.Pool) -> None:
    with pytest.raises(InvalidCursorError):
        await list_photos(pool, cursor="not-a-cursor", limit=5)


async def test_get_photo_lists_the_jobs_it_appeared_in(pool: asyncpg.Pool) -> None:
    photo = await get_photo(pool, PHOTOS[0], owner=None)
    assert photo is not None
    assert photo.jobs == ["job-1", "job-2"]
    assert photo.tags == ["cats", "pets"]
    assert photo.titles == ["cat"]
    assert photo.destinations["imgur"].state == "published"
    assert not photo.destinations["imgur"].duplicate
    assert (photo.width, photo.content_type) == (800, "image/jpeg")
    mine = await get_photo(pool, PHOTOS[0], owner="bob")
    assert mine is not None
    assert mine.jobs == ["job-2"]
    assert await get_photo(pool, PHOTOS[1], owner="bob") is None
    assert await get_photo(pool, "0" * 64, owner=None) is None


async def test_seed_job_summary(pool: asyncpg.Pool) -> None:
    summary = await seed_job_summary(pool, "job-1")
    assert summary is not None
    assert summary["id"] == "job-1"
    assert summary["status"] == "processing"
    assert summary["finished"] is None
    assert summary["created"].startswith("2026-01-01T00:00:00")
    assert summary["uploaded"] == {
        "pending": ["i3.jpg"],
        "completed": [
            f"https://imgur.example/{PHOTOS[0][:6]}",
            f"https://imgur.example/{PHOTOS[1][:6]}",
        ],
        "failed": ["i2.jpg", URL],
    }
    assert await seed_job_summary(pool, "missing") is None


async def test_imgur_links_newest_first(pool: asyncpg.Pool) -> None:
    links = [f"https://imgur.example/{PHOTOS[n][:6]}" for n in (0, 1)]
    assert await imgur_links(pool, None) == [links[1], links[0]]
    assert await imgur_links(pool, "bob") == [links[0]]
    assert await imgur_links(pool, "carol") == []
