"""The publish handler with an in-memory destination, the live Postgres ledger and a
recording event sink: skips, duplicates, retries, permanent failures, crash recovery,
the circuit breaker and re-publish."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
from photobus_common.blobs import LocalBlobStore, original_key
from photobus_common.broker import Delivery, RetryLater
from photobus_common.events import (
    Event,
    ItemOptions,
    PhotoReceived,
    PublishFailed,
    PublishRequested,
    PublishRetrying,
    PublishSkipped,
    PublishSucceeded,
)
from photobus_common.publishing import (
    Destination,
    PermanentError,
    PreparedPhoto,
    Published,
    TransientError,
)
from photobus_common.publishing.breaker import Budget, CircuitBreaker
from photobus_common.publishing.ledger import Ledger
from photobus_common.publishing.runtime import PublishHandler
from PIL import Image

E = TypeVar("E")
NOW = datetime(2026, 5, 30, 12, 0, tzinfo=UTC)
DELAYS = (5.0, 30.0, 120.0)
Outcome = Published | TransientError | PermanentError


class MemoryDestination(Destination):
    """Answers each upload with the next scripted outcome (default: success)."""

    name: ClassVar = "flickr"

    def __init__(self, configured: bool = True) -> None:
        self.configured = configured
        self.script: list[Outcome] = []
        self.uploads: list[PreparedPhoto] = []
        self.stored: dict[str, Published] = {}
        self.lookups: list[str] = []
        self.hold: asyncio.Event | None = None  # upload stores, then waits (a slow answer)

    @property
    def is_configured(self) -> bool:
        return self.configured

    async def upload(self, photo: PreparedPhoto) -> Published:
        self.uploads.append(photo)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, Exception):
            raise outcome
        published = outcome or Published(f"r{len(self.uploads)}", f"https://d/r{len(self.uploads)}")
        self.stored[photo.photo_id] = published
        if self.hold is not None:
            await self.hold.wait()
        return published

    async def find_existing(self, photo_id: str) -> Published | None:
        self.lookups.append(photo_id)
        return self.stored.get(photo_id)


@dataclass
class Sink:
    events: list[Event] = field(default_factory=list)

    async def publish(self, *events: Event) -> None:
        self.events.extend(events)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    handler: PublishHandler
    destination: MemoryDestination
    sink: Sink
    ledger: Ledger
    clock: Clock
    blobs: LocalBlobStore


def jpeg_bytes(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
async def rig(ledger: Ledger, tmp_path: Path) -> Rig:
    blobs = LocalBlobStore(tmp_path)
    await blobs.start()
    destination = MemoryDestination()
    sink = Sink()
    clock = Clock()
    handler = PublishHandler(
        destination=destination,
        ledger=ledger,
        blobs=blobs,
        events=sink,
        budget=Budget(CircuitBreaker(threshold=2, cool_down=60, clock=clock)),
        clock=lambda: NOW,
    )
    return Rig(handler, destination, sink, ledger, clock, blobs)


async def received(
    rig: Rig, color: str = "red", *, job: str = "job-1", item: str = "item-1", **options: object
) -> PhotoReceived:
    data = jpeg_bytes(color)
    photo_id = hashlib.sha256(data).hexdigest()
    await rig.blobs.put_bytes(original_key(photo_id), data, content_type="image/jpeg")
    return PhotoReceived(
        producer="test",
        job_id=job,
        item_id=item,
        photo_id=photo_id,
        blob_key=original_key(photo_id),
        size=len(data),
        content_type="image/jpeg",
        width=32,
        height=24,
        options=ItemOptions(title="Harbour", tags=("sea",), album="Trip", **options),
    )


async def until(condition: Callable[[], bool], task: asyncio.Task[None]) -> None:
    """Poll (with a deadline) until `condition` holds; fail early if `task` ended instead."""
    async with asyncio.timeout(5):
        while not condition():
            if task.done():
                task.result()
                pytest.fail("the handler finished before the condition held")
            await asyncio.sleep(0.001)


def delivery(attempt: int = 1) -> Delivery:
    return Delivery("q", attempt, 1 + len(DELAYS), attempt > 1, DELAYS)


async def test_publishes_with_the_uploads_title_tags_and_album(rig: Rig) -> None:
    event = await received(rig)
    await rig.handler(event, delivery())

    [photo] = rig.destination.uploads
    assert (photo.title, photo.tags, photo.album) == ("Harbour", ("sea",), "Trip")
    assert photo.filename == f"{event.photo_id}.jpg"
    [succeeded] = rig.sink.events
    assert isinstance(succeeded, PublishSucceeded)
    assert (succeeded.remote_id, succeeded.url, succeeded.duplicate) == (
        "r1",
        "https://d/r1",
        False,
    )
    assert (succeeded.item_id, succeeded.job_id, succeeded.destination) == (
        "item-1",
        "job-1",
        "flickr",
    )
    assert rig.destination.lookups == []


async def test_not_requested_and_not_configured_are_skipped(rig: Rig) -> None:
    await rig.handler(await received(rig, destinations=("imgur",)), delivery())
    rig.destination.configured = False
    await rig.handler(await received(rig, "blue"), delivery())

    assert [e.reason for e in rig.sink.of(PublishSkipped)] == ["not_requested", "not_configured"]
    assert rig.destination.uploads == []


async def test_a_second_job_gets_the_existing_link_marked_duplicate(rig: Rig) -> None:
    await rig.handler(await received(rig), delivery())
    await rig.handler(await received(rig, job="job-2", item="item-2"), delivery())

    assert len(rig.destination.uploads) == 1
    first, second = rig.sink.of(PublishSucceeded)
    assert isinstance(first, PublishSucceeded) and isinstance(second, PublishSucceeded)
    assert (second.url, second.duplicate, second.job_id) == (first.url, True, "job-2")


async def test_a_redelivered_message_reemits_its_own_result(rig: Rig) -> None:
    event = await received(rig)
    await rig.handler(event, delivery())
    await rig.handler(event, delivery())

    assert len(rig.destination.uploads) == 1
    first, again = rig.sink.of(PublishSucceeded)
    assert again == first.model_copy(
        update={"event_id": again.event_id, "occurred_at": again.occurred_at}
    )


async def test_transient_error_is_reported_and_parked_for_at_least_its_retry_after(
    rig: Rig,
) -> None:
    rig.destination.script = [TransientError("HTTP 429: slow down", retry_after=40)]
    event = await received(rig)
    with pytest.raises(RetryLater) as parked:
        await rig.handler(event, delivery(1))

    assert parked.value.delay == 40
    [retrying] = rig.sink.events
    assert isinstance(retrying, PublishRetrying)
    # The first tier (5 s) is shorter than the server asked: the 120 s tier is used.
    assert (retrying.attempt, retrying.retry_at) == (1, NOW + timedelta(seconds=120))
    assert retrying.reason == "HTTP 429: slow down"

    rig.clock.now += 41  # the server's wait has passed
    await rig.handler(event, delivery(2))
    # The first attempt may have sent the bytes: the destination is asked before uploading again.
    assert rig.destination.lookups == [event.photo_id]
    assert len(rig.destination.uploads) == 2
    assert isinstance(rig.sink.events[-1], PublishSucceeded)


async def test_after_the_last_tier_the_delivery_fails_not_permanently(rig: Rig) -> None:
    rig.destination.script = [TransientError("HTTP 500")]
    event = await received(rig)
    await rig.handler(event, delivery(1 + len(DELAYS)))

    [failed] = rig.sink.events
    assert isinstance(failed, PublishFailed)
    assert (failed.permanent, failed.reason, failed.attempt) == (False, "HTTP 500", 4)
    row = await rig.ledger.row(event.photo_id, "flickr")
    assert row is not None and row.state == "failed"


async def test_permanent_error_fails_once_with_the_destinations_message(rig: Rig) -> None:
    rig.destination.script = [PermanentError("invalid credentials")]
    event = await received(rig)
    await rig.handler(event, delivery())
    await rig.handler(event, delivery())  # redelivered: reported again, not tried again

    assert len(rig.destination.uploads) == 1
    failures = rig.sink.of(PublishFailed)
    assert [(f.permanent, f.reason) for f in failures] == [(True, "invalid credentials")] * 2


async def test_an_undecodable_original_fails_permanently_without_a_call(rig: Rig) -> None:
    event = await received(rig)
    await rig.blobs.put_bytes(original_key(event.photo_id), b"not an image", content_type="x/y")
    await rig.handler(event, delivery())

    [failed] = rig.sink.events
    assert isinstance(failed, PublishFailed) and failed.permanent
    assert failed.reason.startswith("not_an_image")
    assert rig.destination.uploads == []


async def test_crash_mid_upload_asks_the_destination_before_uploading_again(rig: Rig) -> None:
    rig.destination.hold = asyncio.Event()
    event = await received(rig)
    attempt = asyncio.create_task(rig.handler(event, delivery()))
    await until(lambda: bool(rig.destination.uploads), attempt)
    attempt.cancel()  # the process dies while the destination holds the answer
    with pytest.raises(asyncio.CancelledError):
        await attempt

    rig.destination.hold = None
    await rig.handler(event, delivery())  # RabbitMQ redelivers the unacked message

    assert rig.destination.lookups == [event.photo_id]
    assert len(rig.destination.uploads) == 1
    [succeeded] = rig.sink.events
    assert isinstance(succeeded, PublishSucceeded) and succeeded.remote_id == "r1"


async def test_a_concurrent_message_for_the_same_photo_waits_for_the_claim(rig: Rig) -> None:
    rig.destination.hold = asyncio.Event()
    first = asyncio.create_task(rig.handler(await received(rig), delivery()))
    await until(lambda: bool(rig.destination.uploads), first)
    with pytest.raises(RetryLater):
        await rig.handler(await received(rig, job="job-2", item="item-2"), delivery())
    rig.destination.hold.set()
    await first

    assert len(rig.destination.uploads) == 1
    retrying, succeeded = rig.sink.events
    assert isinstance(retrying, PublishRetrying) and retrying.job_id == "job-2"
    assert isinstance(succeeded, PublishSucceeded) and succeeded.job_id == "job-1"


async def test_the_breaker_opens_parks_messages_and_lets_one_probe_through(rig: Rig) -> None:
    rig.destination.script = [TransientError("HTTP 503"), TransientError("HTTP 503")]
    for color in ("red", "green"):
        with pytest.raises(RetryLater):
            await rig.handler(await received(rig, color), delivery())
    assert len(rig.destination.uploads) == 2

    blue = await received(rig, "blue")
    with pytest.raises(RetryLater) as parked:
        await rig.handler(blue, delivery())
    assert len(rig.destination.uploads) == 2  # not sent while the circuit is open
    assert rig.sink.of(PublishRetrying)[-1].reason == "circuit open after: HTTP 503"
    assert parked.value.delay == 60

    rig.clock.now += 61
    rig.destination.hold = asyncio.Event()
    probe = asyncio.create_task(rig.handler(blue, delivery(2)))
    await until(lambda: len(rig.destination.uploads) == 3, probe)
    white = await received(rig, "white")
    with pytest.raises(RetryLater):  # one probe at a time
        await rig.handler(white, delivery())
    assert len(rig.destination.uploads) == 3
    rig.destination.hold.set()
    await probe

    rig.destination.hold = None
    await rig.handler(white, delivery(2))  # closed again
    assert len(rig.destination.uploads) == 4


async def test_republish_retries_a_failed_delivery_with_the_stored_options(rig: Rig) -> None:
    rig.destination.script = [PermanentError("HTTP 400: File type invalid")]
    event = await received(rig)
    await rig.handler(event, delivery())
    command = PublishRequested(producer="status", photo_id=event.photo_id, destination="flickr")
    await rig.handler(command, delivery())

    assert len(rig.destination.uploads) == 2
    assert rig.destination.uploads[1].title == "Harbour"
    succeeded = rig.sink.events[-1]
    assert isinstance(succeeded, PublishSucceeded) and not succeeded.duplicate

    await rig.handler(
        PublishRequested(producer="status", photo_id=event.photo_id, destination="flickr"),
        delivery(),
    )
    assert len(rig.destination.uploads) == 2
    reported = rig.sink.events[-1]
    assert isinstance(reported, PublishSucceeded) and reported.duplicate
    assert reported.url == succeeded.url


async def test_commands_for_other_destinations_are_ignored(rig: Rig) -> None:
    event = await received(rig)
    await rig.handler(
        PublishRequested(producer="status", photo_id=event.photo_id, destination="imgur"),
        delivery(),
    )
    assert rig.sink.events == []
