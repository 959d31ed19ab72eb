"""Batches without RabbitMQ: group commit, and when one multiple ack may settle a batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import cast

from aiormq.abc import AbstractChannel, DeliveredMessage
from aiormq.exceptions import ChannelInvalidStateError
from pamqp import commands as spec
from pamqp.header import ContentHeader
from photobus_common.batches import AckCursor, Batcher, Received, handle_batch
from photobus_common.events import Event, ThumbnailRequested, dump_event
from pydantic import ValidationError


class Recorder:
    """A batch handler that records its batches and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, batch: list[int]) -> None:
        self.batches.append(batch)
        await self.release.wait()


async def test_a_full_batch_goes_without_waiting() -> None:
    handled = Recorder()
    batcher = Batcher(handled, max_size=3, max_wait=3600)
    for n in range(4):
        batcher.add(n)
    await asyncio.sleep(0)
    assert handled.batches == [[0, 1, 2]]  # [3] waits for max_wait


async def test_a_partial_batch_goes_after_max_wait() -> None:
    handled = Recorder()
    batcher = Batcher(handled, max_size=100, max_wait=0.01)
    batcher.add(1)
    batcher.add(2)
    async with asyncio.timeout(5):
        while not handled.batches:
            await asyncio.sleep(0.005)
    assert handled.batches == [[1, 2]]
    assert batcher.in_flight.idle.is_set()


async def test_one_batch_at_a_time_while_the_next_one_fills() -> None:
    handled = Recorder()
    handled.release.clear()
    batcher = Batcher(handled, max_size=2, max_wait=3600)
    for n in range(5):  # [0, 1] is handled; the rest waits, in one batch
        batcher.add(n)
    await asyncio.sleep(0)
    assert handled.batches == [[0, 1]]
    assert batcher.in_flight.count == 5
    handled.release.set()
    await batcher.drain()
    assert handled.batches == [[0, 1], [2, 3, 4]]
    assert batcher.in_flight.count == 0 and batcher.in_flight.idle.is_set()


async def test_a_failing_handler_does_not_stop_the_batches() -> None:
    seen: list[list[int]] = []

    async def handle(batch: list[int]) -> None:
        seen.append(batch)
        raise RuntimeError("bug")

    batcher = Batcher(handle, max_size=1, max_wait=3600)
    batcher.add(1)
    batcher.add(2)
    await batcher.drain()
    assert seen == [[1], [2]]
    assert batcher.in_flight.count == 0


# -- acks ---------------------------------------------------------------------------


class FakeChannel:
    """Records how messages were acked on it, like an aiormq channel that is open (or not)."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []
        self.nacks: list[int] = []  # requeued
        self.broken = False

    async def basic_ack(self, delivery_tag: int, multiple: bool = False, wait: bool = True) -> None:
        if self.broken:
            raise ChannelInvalidStateError("channel closed")
        self.acks.append((delivery_tag, multiple))

    async def basic_nack(
        self,
        delivery_tag: int,
        multiple: bool = False,
        requeue: bool = True,
        wait: bool = True,
    ) -> None:
        if self.broken:
            raise ChannelInvalidStateError("channel closed")
        assert requeue
        self.nacks.append(delivery_tag)


def _event(n: int) -> ThumbnailRequested:
    return ThumbnailRequested(producer="test", photo_id=f"p{n}", job_id="j")


def messages(tags: Sequence[int], channel: object, body: bytes | None = None) -> list[Received]:
    found = []
    for tag in tags:
        delivered = DeliveredMessage(
            delivery=spec.Basic.Deliver(delivery_tag=tag),
            header=ContentHeader(),
            body=body or dump_event(_event(tag)),
            channel=cast(AbstractChannel, channel),
        )
        found.append(Received.of(delivered))
    return found


async def all_done(events: Sequence[Event]) -> list[Exception | None]:
    return [None] * len(events)


class Settled:
    def __init__(self) -> None:
        self.failures: list[tuple[int, Exception]] = []

    async def __call__(self, received: Received, error: Exception) -> None:
        self.failures.append((received.tag, error))


def test_the_cursor_accepts_only_the_next_tags_of_its_channel() -> None:
    channel, other = object(), object()
    cursor = AckCursor()
    assert cursor.follows(messages([1, 2, 3], channel))
    assert not cursor.follows(messages([2, 3], channel))  # tag 1 is not settled
    cursor.settled(messages([1, 2, 3], channel))
    assert cursor.follows(messages([4, 5], channel))
    assert not cursor.follows(messages([5, 6], channel))  # a gap
    assert not cursor.follows([*messages([4], channel), *messages([5], other)])
    assert cursor.follows(messages([1, 2], other))  # a new channel starts at 1


async def test_a_batch_handled_whole_is_acked_with_one_multiple_ack() -> None:
    channel = FakeChannel()
    batch = messages([1, 2, 3], channel)
    cursor = AckCursor()

    acked = await handle_batch(batch, all_done, Settled(), cursor)

    assert acked == 3
    assert channel.acks == [(3, True)]
    assert cursor.follows(messages([4], channel))


async def test_a_failure_settles_each_message_alone() -> None:
    channel = FakeChannel()
    batch = messages([1, 2, 3], channel)
    settled = Settled()
    retry = RuntimeError("try again")

    async def second_fails(events: Sequence[Event]) -> list[Exception | None]:
        return [None, retry, None]

    acked = await handle_batch(batch, second_fails, settled, AckCursor())

    assert acked == 2
    assert channel.acks == [(1, False), (3, False)]
    assert settled.failures == [(2, retry)]


async def test_a_body_that_is_no_event_is_settled_as_poison_and_the_rest_handled() -> None:
    channel = FakeChannel()
    batch = [
        *messages([1], channel),
        *messages([2], channel, b"{not json"),
        *messages([3], channel),
    ]
    settled = Settled()
    seen: list[Event] = []

    async def handler(events: Sequence[Event]) -> list[Exception | None]:
        seen.extend(events)
        return [None] * len(events)

    acked = await handle_batch(batch, handler, settled, AckCursor())

    assert [e.photo_id for e in seen if isinstance(e, ThumbnailRequested)] == ["p1", "p3"]
    assert acked == 2
    assert [tag for tag, _ in settled.failures] == [2]
    assert isinstance(settled.failures[0][1], ValidationError)


async def test_a_handler_that_raises_fails_every_event() -> None:
    batch = messages([1, 2], FakeChannel())
    settled = Settled()

    async def broken(events: Sequence[Event]) -> list[Exception | None]:
        raise ValueError("bug")

    assert await handle_batch(batch, broken, settled, AckCursor()) == 0
    assert [tag for tag, _ in settled.failures] == [1, 2]


async def test_a_batch_that_does_not_follow_the_cursor_is_acked_message_by_message() -> None:
    channel = FakeChannel()
    cursor = AckCursor()
    batch = messages([2, 3], channel)  # tag 1 was never settled: a multiple ack would take it

    assert await handle_batch(batch, all_done, Settled(), cursor) == 2

    assert channel.acks == [(2, False), (3, False)]
    assert not cursor.follows(messages([4], channel))


async def test_a_closed_channel_leaves_the_batch_unacked_and_the_cursor_where_it_was() -> None:
    channel = FakeChannel()
    channel.broken = True
    cursor = AckCursor()
    batch = messages([1, 2], channel)

    assert await handle_batch(batch, all_done, Settled(), cursor) == 0
    assert cursor.follows(messages([1], channel))


async def test_a_batch_across_a_reconnection_settles_every_message_of_the_live_channel() -> None:
    closed, live = FakeChannel(), FakeChannel()
    closed.broken = True  # its messages come back from RabbitMQ: nothing to do for them
    batch = [*messages([7, 8], closed), *messages([1, 2], live)]

    assert await handle_batch(batch, all_done, Settled(), AckCursor()) == 2
    assert live.acks == [(1, False), (2, False)]


async def test_a_message_that_could_not_be_settled_goes_back_to_its_queue() -> None:
    # Its retry could not be published (the publishing channel is reconnecting), while
    # its own channel is open: left unacked it would stay with this consumer for good.
    channel = FakeChannel()
    batch = messages([1, 2], channel)

    async def first_fails(events: Sequence[Event]) -> list[Exception | None]:
        return [RuntimeError("try again"), None]

    async def unpublishable(received: Received, error: Exception) -> None:
        raise ChannelInvalidStateError("the publishing channel is closed")

    assert await handle_batch(batch, first_fails, unpublishable, AckCursor()) == 1
    assert channel.nacks == [1]
    assert channel.acks == [(2, False)]
