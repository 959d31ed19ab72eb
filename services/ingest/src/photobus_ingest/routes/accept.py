"""Turning a request's items into a job: events, the durable announcement, the reply.

The durability rule lives here: the reply is built only after every accepted original
is in the blob store and RabbitMQ confirmed `job.accepted` and every item's event.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from photobus_common.events import (
    FetchRequested,
    ItemOptions,
    JobAccepted,
    JobItem,
    PhotoReceived,
    PhotoRejected,
)

from photobus_ingest import metrics
from photobus_ingest.intake import PRODUCER, Outcome, Refused, outcome_event
from photobus_ingest.routes.context import Ingest
from photobus_ingest.routes.replies import job_reply

MAX_URL_LENGTH = 4096


@dataclass(frozen=True)
class Entry:
    """One item of a job: what job.accepted lists, its own event, and its reply."""

    item: JobItem
    event: PhotoReceived | PhotoRejected | FetchRequested
    reply: dict[str, Any]


def new_job_id() -> str:
    """128 random bits, URL-safe, never starting with '-': one in 64 did, and a command
    line (`photobus status -x…`) takes that for an option."""
    while (job_id := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return job_id


def upload_entry(
    *,
    job_id: str,
    item_id: str,
    filename: str | None,
    outcome: Outcome,
    options: ItemOptions,
    owner: str | None,
) -> Entry:
    reply: dict[str, Any] = {"item_id": item_id, "filename": filename}
    if isinstance(outcome, Refused):
        reply["rejected"] = {"reason": outcome.reason, "detail": outcome.detail}
    else:
        reply["photo_id"] = outcome.photo_id
        reply["duplicate"] = outcome.duplicate
    event = outcome_event(
        outcome, job_id=job_id, item_id=item_id, options=options, owner=owner, filename=filename
    )
    return Entry(JobItem(item_id=item_id, source="upload", filename=filename), event, reply)


def url_problem(url: str) -> str | None:
    """Why this URL cannot be fetched, judged from its text alone; None if it may be."""
    if len(url) > MAX_URL_LENGTH:
        return f"The URL is longer than {MAX_URL_LENGTH} characters."
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "The URL contains spaces or control characters: percent-encode them."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as e:
        return f"The URL is malformed: {e}."
    if parts.scheme.lower() not in {"http", "https"}:
        return "Only http:// and https:// URLs can be fetched."
    if not parts.hostname:
        return "The URL has no host name."
    if parts.username is not None or parts.password is not None:
        return "URLs with credentials cannot be fetched: remove the user:password@ part."
    return None


def without_credentials(url: str) -> str:
    """The URL with any `user:password@` removed: what the job, its events and replies keep."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" not in authority:
        return url
    return f"{scheme}://{authority.rsplit('@', 1)[1]}{rest[end:]}"


def url_entry(*, job_id: str, url: str, options: ItemOptions, owner: str | None) -> Entry:
    item_id = uuid.uuid4().hex
    problem = url_problem(url)
    # A URL with credentials is refused; its password must not travel on in the job.
    url = url if problem is None else without_credentials(url)
    reply: dict[str, Any] = {"item_id": item_id, "url": url}
    event: FetchRequested | PhotoRejected
    if problem is None:
        event = FetchRequested(
            producer=PRODUCER, job_id=job_id, owner=owner, item_id=item_id, url=url, options=options
        )
    else:
        event = PhotoRejected(
            producer=PRODUCER, job_id=job_id, item_id=item_id, reason="bad_url", detail=problem
        )
        reply["rejected"] = {"reason": "bad_url", "detail": problem}
    return Entry(JobItem(item_id=item_id, source="url", url=url), event, reply)


async def announce(
    ingest: Ingest,
    *,
    job_id: str,
    owner: str | None,
    options: ItemOptions,
    entries: list[Entry],
) -> dict[str, Any]:
    """Publish the job durably (raises PublishError) and return the reply body."""
    accepted = JobAccepted(
        producer=PRODUCER,
        job_id=job_id,
        owner=owner,
        items=tuple(e.item for e in entries),
        options=options,
    )
    await ingest.publish(accepted, *(e.event for e in entries))
    for e in entries:
        metrics.record(e.event, source=e.item.source)
    base = ingest.settings.status_public_url.rstrip("/")
    return job_reply(
        job_id=job_id, status_url=f"{base}/v1/jobs/{job_id}", items=[e.reply for e in entries]
    )
