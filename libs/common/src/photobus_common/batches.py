"""Consuming in batches (`Broker.consume_batches`): group commit, and one ack per batch.

Messages are appended to the open batch as they arrive, with no task or future of
their own. The batch goes to its handler when it holds `max_size` messages or
`max_wait` seconds after its first one — but only one batch is handled at a time:
meanwhile the open batch keeps filling (up to the channel's prefetch) and goes as
soon as the handling ends. A backlog is thus handled in large batches rather than in
many small ones queueing for the same lock.

Acks: a batch whose every event was handled is acked with one
`basic_ack(multiple=True)` on its last delivery tag, which settles every unsettled
message up to it on the channel. That settles exactly this batch only when its
tags are the channel's next ones after what was settled before (batches are handled
one at a time, in delivery order, so that is the normal case); `AckCursor` checks it
rather than assumes it. Otherwise — a failure in the batch, a gap, a reconnected
channel — each message is settled on its own: acked, retried or dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from aiormq.abc import DeliveredMessage
from aiormq.exceptions import AMQPError, ChannelInvalidStateError
from pydantic import ValidationError

from photobus_common.events import Event, parse_event

log = logging.getLogger(__name__)

M = TypeVar("M")

BatchHandler = Callable[[Sequence[Event]], Awaitable[Sequence[Exception | None]]]
"""Handles events together; returns each one's outcome, in order: None when it is done
(it will be acked), else the error a `Broker.consume` handler would have raised for it
(`RetryLater`, `Reject`, or any other, treated as transient)."""

Settle = Callable[["Received", Exception], Awaitable[None]]
"""What the broker does with one failed message: a retry tier, or the `.dlq` (for a
`Reject`, or a `ValidationError` from a body that is no event)."""


class InFlight:
    """How many messages a broker holds unsettled; `idle` is set when none."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def add(self, n: int = 1) -> None:
        self.count += n
        self.idle.clear()

    def done(self, n: int = 1) -> None:
        self.count -= n
        if self.count == 0:
            self.idle.set()


class Batcher(Generic[M]):
    """Collects items into batches and hands them to `handle` one batch at a time."""

    def __init__(
        self,
        handle: Callable[[list[M]], Awaitable[None]],
        *,
        max_size: int,
        max_wait: float,
        in_flight: InFlight | None = None,
    ) -> None:
        self._handle = handle
        self.max_size = max_size
        self.max_wait = max_wait
        self.in_flight = in_flight or InFlight()
        self._open: list[M] = []
        self._timer: asyncio.TimerHandle | None = None
        self._busy: asyncio.Task[None] | None = None

    def add(self, item: M) -> None:
        self.in_flight.add()
        self._open.append(item)
        if len(self._open) >= self.max_size:
            self._flush()
        elif self._timer is None and self._busy is None:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._flush)

    async def drain(self) -> None:
        """Hand over what is open now and wait until every batch is handled."""
        self._flush()
        while self._busy is not None:
            await asyncio.wait([self._busy])

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._busy is not None or not self._open:
            return  # the open batch goes when the one being handled is done (_done)
        batch, self._open = self._open, []
        self._busy = asyncio.create_task(self._run(batch))
        self._busy.add_done_callback(self._done)

    async def _run(self, batch: list[M]) -> None:
        try:
            await self._handle(batch)
        finally:
            self.in_flight.done(len(batch))

    def _done(self, task: asyncio.Task[None]) -> None:
        self._busy = None
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a batch handler failed", exc_info=error)
        self._flush()


class AckChannel(Protocol):
    def basic_ack(
        self, delivery_tag: int, multiple: bool = False, wait: bool = True
    ) -> Awaitable[None]: ...

    def basic_nack(
        self,
        delivery_tag: int,
        multiple: bool = False,
        requeue: bool = True,
        wait: bool = True,
    ) -> Awaitable[None]: ...


@dataclass(frozen=True, slots=True)
class Received:
    """A message as aiormq delivered it (no aio-pika message is made unless it fails), with
    the channel it came on (its delivery tag means nothing elsewhere)."""

    message: DeliveredMessage
    channel: AckChannel
    tag: int

    @classmethod
    def of(cls, message: DeliveredMessage) -> Received:
        return cls(message, message.channel, message.delivery_tag or 0)

    async def ack(self, *, multiple: bool = False) -> None:
        await self.channel.basic_ack(self.tag, multiple=multiple)

    async def give_back(self) -> None:
        """Back to the queue, to be delivered again (nothing to do if its channel is gone:
        RabbitMQ then redelivers it anyway)."""
        with contextlib.suppress(AMQPError, ChannelInvalidStateError, ConnectionError):
            await self.channel.basic_nack(self.tag, requeue=True)


class AckCursor:
    """The last delivery tag settled on a channel, every tag before it settled too."""

    def __init__(self) -> None:
        self._channel: object | None = None
        self._tag = 0

    def follows(self, batch: Sequence[Received]) -> bool:
        """Whether `batch` holds exactly the next tags of one channel, so that acking its
        last one with multiple=True settles this batch and nothing else."""
        channel = batch[0].channel
        start = self._tag if channel is self._channel else 0  # a channel's tags start at 1
        return all(r.channel is channel and r.tag == start + n for n, r in enumerate(batch, 1))

    def settled(self, batch: Sequence[Received]) -> None:
        """Every message of `batch` is settled (its tags followed the cursor's)."""
        self._channel, self._tag = batch[-1].channel, batch[-1].tag


async def handle_batch(
    batch: list[Received], handler: BatchHandler, settle: Settle, cursor: AckCursor
) -> int:
    """Handle and settle `batch`; returns how many messages were acked as handled."""
    events: list[Event] = []
    outcomes: list[Exception | None] = []  # per message; None where the handler decides
    for received in batch:
        try:
            events.append(parse_event(received.message.body))
            outcomes.append(None)
        except ValidationError as e:
            outcomes.append(e)  # poison: the broker dead-letters it
    handled = await _outcomes(handler, events)
    results = iter(handled)
    outcomes = [next(results) if o is None else o for o in outcomes]

    contiguous = cursor.follows(batch)
    if contiguous and not any(outcomes):
        try:
            await batch[-1].ack(multiple=True)
        except (AMQPError, ChannelInvalidStateError, ConnectionError) as e:
            # The channel is gone, and with it every unacked message: all are redelivered.
            log.warning("could not ack a batch of %d: %r", len(batch), e)
            return 0
        cursor.settled(batch)
        return len(batch)
    acked = unsettled = 0
    for received, outcome in zip(batch, outcomes, strict=True):
        # Each on its own: a batch gathered across a reconnection holds messages of the
        # closed channel (RabbitMQ redelivers those) before those of the new one, which
        # must still be settled, or they stay unacked for as long as the channel lives.
        try:
            if outcome is None:
                await received.ack()
                acked += 1
            else:
                await settle(received, outcome)
        except (AMQPError, ChannelInvalidStateError, ConnectionError) as e:
            # Its own channel may be alive while the one a retry is published on is not:
            # unsettled, it would stay with this consumer for as long as the channel lives.
            unsettled += 1
            error = e
            await received.give_back()
    if unsettled:
        log.warning("could not settle %d of a batch of %d: %r", unsettled, len(batch), error)
    elif contiguous:
        cursor.settled(batch)
    return acked


async def _outcomes(handler: BatchHandler, events: list[Event]) -> list[Exception | None]:
    if not events:
        return []
    try:
        outcomes = list(await handler(events))
    except asyncio.CancelledError:
        raise
    except Exception as e:  # a handler that fails as a whole fails every event
        return [e] * len(events)
    if len(outcomes) != len(events):
        error = RuntimeError(f"the batch handler answered {len(outcomes)} of {len(events)}")
        return [error] * len(events)
    return outcomes
