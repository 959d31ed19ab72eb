"""Reads every consumer's `.dlq` into the job view, so no poison message goes unseen.

Consumes `<ns>.<service>.dlq` of every consumer of the deployment (status's own
included). Each message becomes a `MessageDeadLettered` event — its id derived
from the queue and the message id, so a redelivered dead letter is folded once —
naming whatever the original body still tells (event, job, item, photo,
destination) and why it was dead-lettered. One exception: a valid event in
status's own `.dlq` is one status gave up on while Postgres was away, so it is
folded itself. The message is acked only after the commit; while the database is
down it waits, unacked, and tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aio_pika.abc import AbstractIncomingMessage
from photobus_common.broker import REASON_HEADER, Broker
from photobus_common.events import (
    DESTINATIONS,
    Destination,
    Event,
    MessageDeadLettered,
    parse_event,
)
from photobus_common.topology import STATUS, ConsumerSpec, dlq_name, queue_name
from pydantic import ValidationError

from photobus_status.consumer import EventSink, OnCommit
from photobus_status.errors import DATABASE_DOWN

log = logging.getLogger(__name__)

PRODUCER = "status"
# Fixed, so every replica derives the same event_id for the same dead letter.
_DEAD_LETTER_IDS = uuid.UUID("0b1e8a52-5c1d-4c9e-9a63-2f4d3c0e7d10")


class Letter(Protocol):
    """What a dead letter is read from (an aio-pika message has all of it)."""

    @property
    def body(self) -> bytes: ...
    @property
    def message_id(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def headers(self) -> Mapping[str, Any]: ...


def dead_letter_event(queue: str, message: Letter) -> MessageDeadLettered:
    """Describe a dead-lettered message from `queue` (the consumer's main queue)."""
    message_id = message.message_id or hashlib.sha256(message.body).hexdigest()
    known = _what_the_body_says(message.body)
    return MessageDeadLettered(
        event_id=uuid.uuid5(_DEAD_LETTER_IDS, f"{queue}\n{message_id}"),
        producer=PRODUCER,
        job_id=_text(known.get("job_id")),
        queue=queue,
        original_event_id=_text(known.get("event_id")) or _text(message.message_id),
        original_type=_text(known.get("type")) or _text(message.type),
        photo_id=_text(known.get("photo_id")),
        item_id=_text(known.get("item_id")),
        destination=_destination(known.get("destination")),
        reason=reason_of(message.headers or {}),
    )


def _what_the_body_says(body: bytes) -> Mapping[str, Any]:
    """The original event's fields; a body that is no valid event may still be a JSON object."""
    try:
        return parse_event(body).model_dump(mode="json")
    except ValidationError:
        pass
    try:
        loose = json.loads(body)
    except ValueError:
        return {}
    return loose if isinstance(loose, dict) else {}


def reason_of(headers: Mapping[str, Any]) -> str:
    """Our own reason header, else RabbitMQ's `x-death` reason (e.g. `delivery_limit`)."""
    ours = _text(headers.get(REASON_HEADER))
    if ours:
        return ours
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        theirs = _text(deaths[0].get("reason"))
        if theirs:
            return theirs
    return "unknown"


def _text(value: object) -> str | None:
    """Some text of a message that may be anything; NUL, which Postgres refuses, as U+FFFD."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value is None or value == "":
        return None
    return str(value)[:500].replace("\x00", "\ufffd")


def _destination(value: object) -> Destination | None:
    return next((d for d in DESTINATIONS if d == value), None)


class DeadLetterReader:
    def __init__(
        self,
        broker: Broker,
        sink: EventSink,
        *,
        on_commit: OnCommit | None = None,
        retry_delays: tuple[float, ...] = (0.5, 1, 2, 5, 10),
        commit_timeout: float = 30.0,
    ) -> None:
        self.commit_timeout = commit_timeout
        self.broker = broker
        self.sink = sink
        self.on_commit = on_commit
        self.retry_delays = retry_delays

    async def start(self, specs: list[ConsumerSpec]) -> None:
        ns = self.broker.namespace
        for spec in specs:
            handler = self._handler_for(queue_name(ns, spec.service))
            await self.broker.consume_raw(dlq_name(ns, spec.service), handler, prefetch=16)

    def _handler_for(self, queue: str) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        async def handle(message: AbstractIncomingMessage) -> None:
            await self.handle(queue, message)

        return handle

    async def handle(self, queue: str, message: AbstractIncomingMessage) -> None:
        dead_letter = dead_letter_event(queue, message)
        log.warning(
            "dead letter from %s: %s (%s)", queue, dead_letter.original_type, dead_letter.reason,
            extra={"job_id": dead_letter.job_id},
        )  # fmt: skip
        touched = await self._apply_until_committed(
            self._refold(queue, message) or dead_letter, dead_letter
        )
        await message.ack()
        if self.on_commit is not None and touched:
            try:
                await self.on_commit(touched)
            except Exception:
                log.exception("could not announce a dead letter")

    def _refold(self, queue: str, message: AbstractIncomingMessage) -> Event | None:
        """A valid event status itself gave up on (Postgres was away too long): fold it now."""
        if queue != queue_name(self.broker.namespace, STATUS.service):
            return None
        try:
            return parse_event(message.body)
        except ValidationError:
            return None

    async def _apply_until_committed(
        self, event: Event, dead_letter: MessageDeadLettered
    ) -> list[str]:
        """Keep the message unacked (never lost, never requeued in a hot loop) until it is folded.

        While Postgres is away, wait and try again. Should the view refuse an event
        status dead-lettered, record that it was dead-lettered instead.
        """
        attempt = 0
        while True:
            try:
                async with asyncio.timeout(self.commit_timeout):
                    return await self.sink.apply([event])
            except DATABASE_DOWN as e:
                log.warning("could not fold a dead letter (%r); trying again", e)
            except Exception:
                log.exception("the view refused dead-lettered %s", event.type)
                event = dead_letter
            await asyncio.sleep(self.retry_delays[min(attempt, len(self.retry_delays) - 1)])
            attempt += 1
