"""The ledger against the live Postgres: claims, take-overs, and concurrent replicas."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
from photobus_common.events import ItemOptions
from photobus_common.publishing.albums import PgAlbumBook
from photobus_common.publishing.destination import Published
from photobus_common.publishing.ledger import (
    AlreadyFailed,
    AlreadyPublished,
    Busy,
    Claimed,
    ClaimRequest,
    Ledger,
)
from photobus_common.publishing.schema import ensure_schema

PHOTO = "ab" * 32
OPTIONS = ItemOptions(title="Harbour", tags=("sea", "boats"), album="Trip")


def request(
    claim_id: str = "event-1",
    *,
    item_id: str | None = "item-1",
    job_id: str | None = "job-1",
    options: ItemOptions | None = OPTIONS,
    retry_failed: bool = False,
) -> ClaimRequest:
    return ClaimRequest(PHOTO, "flickr", claim_id, item_id, job_id, options, retry_failed)


async def test_first_claim_owns_the_delivery(ledger: Ledger) -> None:
    outcome = await ledger.claim(request())
    assert outcome == Claimed(attempts=1, options=OPTIONS, recovering=False)
    row = await ledger.row(PHOTO, "flickr")
    assert row is not None
    assert row.state == "uploading"
    assert row.options == OPTIONS


async def test_another_message_meets_a_live_claim_as_busy(ledger: Ledger) -> None:
    await ledger.claim(request("event-1"))
    outcome = await ledger.claim(request("event-2", item_id="item-2", job_id="job-2"))
    assert isinstance(outcome, Busy)


async def test_the_same_message_back_takes_over_and_recovers_only_if_it_was_sending(
    ledger: Ledger,
) -> None:
    await ledger.claim(request())
    before_sending = await ledger.claim(request())
    assert before_sending == Claimed(attempts=2, options=OPTIONS, recovering=False)

    await ledger.mark_sending(request("event-1"))
    after_sending = await ledger.claim(request())
    assert after_sending == Claimed(attempts=3, options=OPTIONS, recovering=True)


async def test_a_stale_claim_is_taken_over_by_another_message(pg_pool: asyncpg.Pool) -> None:
    ledger = Ledger(pg_pool, lease=timedelta(seconds=30))
    await ledger.claim(request("event-1"))
    await ledger.mark_sending(request("event-1"))
    await pg_pool.execute("UPDATE publisher_ledger SET claimed_at = now() - interval '1 minute'")
    outcome = await ledger.claim(request("event-2", item_id="item-2"))
    assert isinstance(outcome, Claimed)
    assert outcome.recovering


async def test_published_is_reported_with_whether_the_same_item_asks(ledger: Ledger) -> None:
    await ledger.claim(request())
    recorded = await ledger.mark_published(request(), Published("42", "https://x/42"))
    assert recorded == Published("42", "https://x/42")

    again = await ledger.claim(request())
    assert again == AlreadyPublished(Published("42", "https://x/42"), 1, same_item=True)
    other = await ledger.claim(request("event-2", item_id="item-9", job_id="job-9"))
    assert other == AlreadyPublished(Published("42", "https://x/42"), 1, same_item=False)


async def test_the_first_recorded_upload_stands(ledger: Ledger) -> None:
    await ledger.claim(request())
    await ledger.mark_published(request(), Published("42", "https://x/42"))
    second = await ledger.mark_published(request(), Published("43", "https://x/43"))
    assert second == Published("42", "https://x/42")


async def test_failed_is_reported_again_to_the_same_item_and_retried_for_others(
    ledger: Ledger,
) -> None:
    await ledger.claim(request())
    await ledger.mark_failed(request(), "invalid credentials", permanent=True)

    assert await ledger.claim(request()) == AlreadyFailed("invalid credentials", 1, True)
    retried = await ledger.claim(request("event-2", item_id="item-2", job_id="job-2"))
    assert retried == Claimed(attempts=2, options=OPTIONS, recovering=False)


async def test_text_from_a_destination_holding_nul_is_recorded(ledger: Ledger) -> None:
    # A remote's error page or answer may hold a NUL byte; Postgres takes none in text.
    await ledger.claim(request())
    await ledger.note_error(request(), "HTTP 502: \x00\x01binary")
    row = await ledger.row(PHOTO, "flickr")
    assert row is not None and row.last_error == "HTTP 502: \ufffd\x01binary"
    await ledger.mark_failed(request(), "rejected\x00", permanent=True)
    assert await ledger.claim(request()) == AlreadyFailed("rejected\ufffd", 1, True)

    other = request("event-2", item_id="item-2", job_id="job-2")
    await ledger.claim(other)
    recorded = await ledger.mark_published(other, Published("4\x002", "https://x/4\x002"))
    assert recorded == Published("4\ufffd2", "https://x/4\ufffd2")


async def test_a_republish_reuses_the_options_of_the_first_claim(ledger: Ledger) -> None:
    await ledger.claim(request())
    await ledger.mark_failed(request(), "HTTP 500", permanent=False)
    command = request("command-1", item_id=None, job_id=None, options=None, retry_failed=True)
    outcome = await ledger.claim(command)
    assert outcome == Claimed(attempts=2, options=OPTIONS, recovering=False)


async def test_concurrent_claims_exactly_one_wins(pg_pool: asyncpg.Pool) -> None:
    ledgers = [Ledger(pg_pool) for _ in range(10)]
    outcomes = await asyncio.gather(
        *(
            ledger.claim(request(f"event-{n}", item_id=f"item-{n}"))
            for n, ledger in enumerate(ledgers)
        )
    )
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert sum(isinstance(o, Busy) for o in outcomes) == 9


async def test_schema_setup_is_idempotent(pg_pool: asyncpg.Pool) -> None:
    await asyncio.gather(ensure_schema(pg_pool), ensure_schema(pg_pool))
    assert await pg_pool.fetchval("SELECT count(*) FROM publisher_ledger") == 0


async def test_an_album_is_created_once_by_concurrent_callers(pg_pool: asyncpg.Pool) -> None:
    created: list[str] = []

    async def create() -> str:
        created.append("set")
        await asyncio.sleep(0)  # let the other callers queue on the lock
        return f"set-{len(created)}"

    books = [PgAlbumBook(pg_pool, "flickr") for _ in range(5)]
    results = await asyncio.gather(*(book.ensure("Trip", create) for book in books))
    assert created == ["set"]
    assert sorted(results) == [("set-1", False)] * 4 + [("set-1", True)]
    assert await PgAlbumBook(pg_pool, "imgur").ensure("Trip", create) == ("set-2", True)
