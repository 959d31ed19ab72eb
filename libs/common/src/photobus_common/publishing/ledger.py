"""The ledger: which photos a destination has, is being sent, or refused.

A message claims (photo, destination) atomically — an insert, or a row lock and
a decision — so concurrent replicas never upload the same photo twice. The claim
is the lock: it belongs to one message (`claim_id` = its event_id). When that same
message comes back (redelivered after a crash, or from a retry tier) its earlier
attempt is over, so it takes the claim over; `sending_since` says whether bytes
may already have reached the destination, in which case the runtime asks the
destination before uploading again. A claim older than the lease is taken over too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from photobus_common.events import Destination, ItemOptions
from photobus_common.publishing.destination import Published


@dataclass(frozen=True)
class ClaimRequest:
    photo_id: str
    destination: Destination
    claim_id: str
    item_id: str | None
    job_id: str | None
    options: ItemOptions | None  # None: reuse the options stored by the first claim
    retry_failed: bool  # a re-publish command: a failed delivery is tried again


@dataclass(frozen=True)
class LedgerRow:
    state: str
    claim_id: str
    item_id: str | None
    job_id: str | None
    remote_id: str | None
    url: str | None
    attempts: int
    options: ItemOptions | None
    last_error: str | None
    failed_permanently: bool
    sending_since: datetime | None
    claimed_at: datetime


@dataclass(frozen=True)
class Claimed:
    """This message owns the delivery now; `recovering`: an earlier attempt may have sent it."""

    attempts: int
    options: ItemOptions | None
    recovering: bool


@dataclass(frozen=True)
class AlreadyPublished:
    published: Published
    attempts: int
    same_item: bool  # the item that published it asks again (a redelivery): not a duplicate


@dataclass(frozen=True)
class AlreadyFailed:
    reason: str
    attempts: int
    permanent: bool


@dataclass(frozen=True)
class Busy:
    """Another live attempt holds the claim."""

    claimed_at: datetime


Outcome = Claimed | AlreadyPublished | AlreadyFailed | Busy


def decide(row: LedgerRow, request: ClaimRequest, *, now: datetime, lease: timedelta) -> Outcome:
    """What a request meets in an existing row (pure, so every case is unit-tested)."""
    same_item = (row.item_id, row.job_id) == (request.item_id, request.job_id)
    if row.state == "published":
        assert row.remote_id is not None and row.url is not None
        return AlreadyPublished(Published(row.remote_id, row.url), row.attempts, same_item)
    if row.state == "failed":
        if request.retry_failed or not same_item:
            return Claimed(row.attempts + 1, request.options or row.options, recovering=False)
        return AlreadyFailed(row.last_error or "failed", row.attempts, row.failed_permanently)
    if row.claim_id == request.claim_id or row.claimed_at < now - lease:
        return Claimed(
            row.attempts + 1, request.options or row.options, row.sending_since is not None
        )
    return Busy(row.claimed_at)


def _row(record: asyncpg.Record) -> LedgerRow:
    options = record["options"]
    return LedgerRow(
        state=record["state"],
        claim_id=record["claim_id"],
        item_id=record["item_id"],
        job_id=record["job_id"],
        remote_id=record["remote_id"],
        url=record["url"],
        attempts=record["attempts"],
        options=None if options is None else ItemOptions.model_validate_json(options),
        last_error=record["last_error"],
        failed_permanently=record["failed_permanently"],
        sending_since=record["sending_since"],
        claimed_at=record["claimed_at"],
    )


def _storable(text: str) -> str:
    """Text from a destination (an id, a URL, an error page) as Postgres takes it: no NUL."""
    return text.replace("\x00", "\ufffd")


def _options_json(options: ItemOptions | None) -> str | None:
    return None if options is None else options.model_dump_json()


_INSERT = """
INSERT INTO publisher_ledger
    (photo_id, destination, state, attempts, claim_id, item_id, job_id, options)
VALUES ($1, $2, 'uploading', 1, $3, $4, $5, $6::jsonb)
ON CONFLICT (photo_id, destination) DO NOTHING
RETURNING attempts
"""

_TAKE_OVER = """
UPDATE publisher_ledger SET
    state = 'uploading', attempts = $3, claim_id = $4, item_id = $5, job_id = $6,
    options = COALESCE($7::jsonb, options),
    sending_since = CASE WHEN $8 THEN sending_since END,
    claimed_at = now(), updated_at = now()
WHERE photo_id = $1 AND destination = $2
"""


class Ledger:
    def __init__(self, pool: asyncpg.Pool, *, lease: timedelta = timedelta(minutes=10)) -> None:
        self.pool = pool
        self.lease = lease

    async def claim(self, request: ClaimRequest) -> Outcome:
        r = request
        async with self.pool.acquire() as conn, conn.transaction():
            attempts = await conn.fetchval(
                _INSERT,
                r.photo_id,
                r.destination,
                r.claim_id,
                r.item_id,
                r.job_id,
                _options_json(r.options),
            )
            if attempts is not None:
                return Claimed(attempts, r.options, recovering=False)
            record = await conn.fetchrow(
                "SELECT *, now() AS db_now FROM publisher_ledger"
                " WHERE photo_id = $1 AND destination = $2 FOR UPDATE",
                r.photo_id,
                r.destination,
            )
            assert record is not None  # rows are never deleted
            outcome = decide(_row(record), r, now=record["db_now"], lease=self.lease)
            if isinstance(outcome, Claimed):
                await conn.execute(
                    _TAKE_OVER,
                    r.photo_id,
                    r.destination,
                    outcome.attempts,
                    r.claim_id,
                    r.item_id,
                    r.job_id,
                    _options_json(r.options),
                    outcome.recovering,
                )
            return outcome

    async def mark_sending(self, claim: ClaimRequest) -> None:
        """From now on bytes may reach the destination: a later attempt must ask first."""
        await self.pool.execute(
            "UPDATE publisher_ledger SET sending_since = now(), updated_at = now()"
            " WHERE photo_id = $1 AND destination = $2 AND claim_id = $3",
            claim.photo_id,
            claim.destination,
            claim.claim_id,
        )

    async def mark_published(self, claim: ClaimRequest, published: Published) -> Published:
        """Record the upload; if another attempt recorded one first, that one stands."""
        photo_id, destination = claim.photo_id, claim.destination
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE publisher_ledger SET state = 'published', remote_id = $3, url = $4,"
                " last_error = NULL, updated_at = now()"
                " WHERE photo_id = $1 AND destination = $2 AND state <> 'published'"
                " RETURNING remote_id, url",
                photo_id,
                destination,
                _storable(published.remote_id),
                _storable(published.url),
            )
            if row is None:
                row = await conn.fetchrow(
                    "SELECT remote_id, url FROM publisher_ledger"
                    " WHERE photo_id = $1 AND destination = $2",
                    photo_id,
                    destination,
                )
            assert row is not None
            return Published(row["remote_id"], row["url"])

    async def mark_failed(self, claim: ClaimRequest, reason: str, *, permanent: bool) -> None:
        await self.pool.execute(
            "UPDATE publisher_ledger SET state = 'failed', last_error = $4,"
            " failed_permanently = $5, updated_at = now()"
            " WHERE photo_id = $1 AND destination = $2 AND claim_id = $3 AND state = 'uploading'",
            claim.photo_id,
            claim.destination,
            claim.claim_id,
            _storable(reason),
            permanent,
        )

    async def note_error(self, claim: ClaimRequest, reason: str) -> None:
        """A transient failure: the claim stays with this message, which will come back."""
        await self.pool.execute(
            "UPDATE publisher_ledger SET last_error = $4, updated_at = now()"
            " WHERE photo_id = $1 AND destination = $2 AND claim_id = $3",
            claim.photo_id,
            claim.destination,
            claim.claim_id,
            _storable(reason),
        )

    async def row(self, photo_id: str, destination: str) -> LedgerRow | None:
        record = await self.pool.fetchrow(
            "SELECT * FROM publisher_ledger WHERE photo_id = $1 AND destination = $2",
            photo_id,
            destination,
        )
        return None if record is None else _row(record)
