"""Consumes `photo.received` and `publish.requested.<destination>`.
Emits `publish.succeeded`, `publish.retrying`, `publish.failed` or `publish.skipped`.

For each message: skip what was not requested or cannot be sent (not configured);
claim the delivery in the ledger; answer from the ledger what is already done (a
duplicate gets the existing link, no second upload); else — after asking the
destination first if an earlier attempt may have sent it — prepare the bytes and
upload within the destination's budget. Transient errors go through the retry tiers
(each reported as `publish.retrying`), permanent ones fail once. The message is
acked only after its result event is confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from photobus_common.blobs import BlobNotFound, BlobStore, BlobStoreUnavailable, original_key
from photobus_common.broker import Delivery, PublishError, RetryLater
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
from photobus_common.publishing.breaker import Budget, CircuitOpen
from photobus_common.publishing.destination import (
    Destination,
    PermanentError,
    Published,
    TransientError,
)
from photobus_common.publishing.ledger import (
    AlreadyFailed,
    AlreadyPublished,
    Busy,
    Claimed,
    ClaimRequest,
    Ledger,
)
from photobus_common.publishing.metrics import PUBLISH_ATTEMPTS, PUBLISH_OUTCOMES, PUBLISH_SECONDS
from photobus_common.publishing.prepare import prepare

log = logging.getLogger(__name__)
_T = TypeVar("_T")


class EventSink(Protocol):
    async def publish(self, *events: Event) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Retry(Exception):
    """A transient failure on the way to the destination, with the wait it asks for."""

    def __init__(self, reason: str, retry_after: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class PublishHandler:
    destination: Destination
    ledger: Ledger
    blobs: BlobStore
    events: EventSink
    budget: Budget
    clock: Callable[[], datetime] = field(default=_utcnow)

    @property
    def producer(self) -> str:
        return f"publisher-{self.destination.name}"

    async def __call__(self, event: Event, delivery: Delivery) -> None:
        request = self._request_for(event)
        if request is None:
            return
        if (
            isinstance(event, PhotoReceived)
            and request.destination not in event.options.destinations
        ):
            await self._skip(request, "not_requested")
        elif not self.destination.is_configured:
            await self._skip(request, "not_configured")
        else:
            await self._handle(request, delivery)

    def _request_for(self, event: Event) -> ClaimRequest | None:
        """The delivery a message asks for; None for messages meant for someone else."""
        name = self.destination.name
        if isinstance(event, PhotoReceived):
            options, retry_failed = event.options, False
        elif isinstance(event, PublishRequested) and event.destination == name:
            # A re-publish command: retry a failed delivery, with the options stored for it.
            options, retry_failed = None, True
        else:
            return None
        return ClaimRequest(
            photo_id=event.photo_id,
            destination=name,
            claim_id=str(event.event_id),
            item_id=event.item_id,
            job_id=event.job_id,
            options=options,
            retry_failed=retry_failed,
        )

    async def _handle(self, request: ClaimRequest, delivery: Delivery) -> None:
        outcome = await self.ledger.claim(request)
        if isinstance(outcome, AlreadyPublished):
            duplicate = request.retry_failed or not outcome.same_item
            self._count("duplicate" if duplicate else "succeeded")
            await self._succeeded(request, outcome.published, delivery, duplicate=duplicate)
        elif isinstance(outcome, AlreadyFailed):
            await self._failed(request, delivery, outcome.reason, permanent=outcome.permanent)
        elif isinstance(outcome, Busy):
            reason = "another attempt is uploading this photo right now"
            await self._transient(request, delivery, reason, None, owned=False)
        else:
            await self._deliver(request, outcome, delivery)

    async def _deliver(self, request: ClaimRequest, claim: Claimed, delivery: Delivery) -> None:
        options = claim.options or ItemOptions(destinations=(self.destination.name,))
        try:
            published = await self._publish(request, claim, options)
        except _Retry as e:
            await self._transient(request, delivery, e.reason, e.retry_after, owned=True)
            return
        except PermanentError as e:
            await self.ledger.mark_failed(request, e.reason, permanent=True)
            await self._failed(request, delivery, e.reason, permanent=True)
            return
        recorded = await self.ledger.mark_published(request, published)
        self._count("succeeded")
        log.info("published %s to %s: %s", request.photo_id, self.destination.name, recorded.url)
        await self._succeeded(request, recorded, delivery, duplicate=False)

    async def _publish(
        self, request: ClaimRequest, claim: Claimed, options: ItemOptions
    ) -> Published:
        """Find an earlier upload or make one. Raises `_Retry` or `PermanentError`."""
        if claim.recovering:
            found = await self._call(lambda: self.destination.find_existing(request.photo_id))
            if found is not None:
                log.info("found %s already at %s", request.photo_id, self.destination.name)
                self._count("recovered")
                return found
        try:
            original = await self.blobs.get_bytes(original_key(request.photo_id))
        except BlobNotFound as e:
            raise PermanentError("the original is not in the blob store") from e
        except BlobStoreUnavailable as e:
            raise _Retry(f"blob store unavailable: {e}", None) from e
        photo = await asyncio.to_thread(prepare, original, request.photo_id, options)
        del original

        async def send() -> Published:
            await self.ledger.mark_sending(request)
            started = time.perf_counter()
            try:
                published = await self.destination.upload(photo)
            except TransientError:
                PUBLISH_ATTEMPTS.labels(self.destination.name, "transient").inc()
                raise
            except PermanentError:
                PUBLISH_ATTEMPTS.labels(self.destination.name, "permanent").inc()
                raise
            PUBLISH_ATTEMPTS.labels(self.destination.name, "ok").inc()
            PUBLISH_SECONDS.labels(self.destination.name).observe(time.perf_counter() - started)
            return published

        return await self._call(send)

    async def _call(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """One call to the destination within its budget; transient outcomes become `_Retry`."""
        try:
            async with self.budget.call():
                return await call()
        except CircuitOpen as e:
            raise _Retry(e.reason, e.wait) from e
        except TransientError as e:
            raise _Retry(e.reason, e.retry_after) from e

    # -- results -------------------------------------------------------------------

    async def _transient(
        self,
        request: ClaimRequest,
        delivery: Delivery,
        reason: str,
        retry_after: float | None,
        *,
        owned: bool,
    ) -> None:
        """Park the message in its retry tier, reported as `publish.retrying`; or, after
        the last tier, fail it (not permanently: a re-publish may still succeed)."""
        delay = delivery.retry_delay(at_least=retry_after)
        if delay is None:
            if owned:
                await self.ledger.mark_failed(request, reason, permanent=False)
            await self._failed(request, delivery, reason, permanent=False)
            return
        if owned:
            await self.ledger.note_error(request, reason)
        self._count("retrying")
        await self._emit(
            PublishRetrying(
                **self._about(request),
                attempt=delivery.attempt,
                retry_at=self.clock() + timedelta(seconds=delay),
                reason=reason,
            )
        )
        raise RetryLater(reason, delay=retry_after)

    async def _succeeded(
        self, request: ClaimRequest, published: Published, delivery: Delivery, *, duplicate: bool
    ) -> None:
        await self._emit(
            PublishSucceeded(
                **self._about(request),
                remote_id=published.remote_id,
                url=published.url,
                duplicate=duplicate,
                attempt=delivery.attempt,
            )
        )

    async def _failed(
        self, request: ClaimRequest, delivery: Delivery, reason: str, *, permanent: bool
    ) -> None:
        self._count("failed")
        log.warning(
            "publishing %s to %s failed (%s): %s",
            request.photo_id,
            self.destination.name,
            "permanent" if permanent else "retries exhausted",
            reason,
        )
        await self._emit(
            PublishFailed(
                **self._about(request), attempt=delivery.attempt, permanent=permanent, reason=reason
            )
        )

    async def _skip(self, request: ClaimRequest, reason: str) -> None:
        self._count(f"skipped:{reason}")
        await self._emit(PublishSkipped(**self._about(request), reason=reason))

    def _about(self, request: ClaimRequest) -> dict[str, Any]:
        return {
            "producer": self.producer,
            "job_id": request.job_id,
            "photo_id": request.photo_id,
            "item_id": request.item_id,
            "destination": self.destination.name,
        }

    async def _emit(self, event: Event) -> None:
        """Publish a result and wait for its confirm; unconfirmed, the message comes back."""
        try:
            await self.events.publish(event)
        except PublishError as e:
            raise RetryLater(f"could not publish {event.type}: {e}") from e

    def _count(self, outcome: str) -> None:
        PUBLISH_OUTCOMES.labels(self.destination.name, outcome).inc()
