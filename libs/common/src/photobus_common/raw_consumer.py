"""A consumer with a plain callback on aiormq's `DeliveredMessage`, on a robust channel.

aio-pika's own consumers build an `IncomingMessage` and run a task of its own for every
message (a tenth of the status service's CPU in a burst). `RawConsumer` subscribes to the
robust channel's current aiormq channel instead. aio-pika restores only the consumers it
made itself, so this one subscribes again after each reopening of the channel (a
reconnect, a channel error: the queue and its bindings are restored before), and after
the broker cancelled it (its queue was deleted: declared again, with its bindings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aio_pika.abc import AbstractRobustChannel, AbstractRobustQueue
from aiormq.abc import AbstractChannel, DeliveredMessage
from aiormq.exceptions import AMQPError, ChannelInvalidStateError

log = logging.getLogger(__name__)

OnMessage = Callable[[DeliveredMessage], Coroutine[Any, Any, None]]

RESUBSCRIBE_DELAY = 1.0


class RawConsumer:
    def __init__(
        self, channel: AbstractRobustChannel, queue: AbstractRobustQueue, on_message: OnMessage
    ) -> None:
        self._channel = channel
        self._queue = queue
        self._on_message = on_message
        self._underlay: AbstractChannel | None = None  # where it is subscribed, if anywhere
        self._tag: str | None = None
        self._lock = asyncio.Lock()
        self._stopped = False
        self._recovery: asyncio.Task[None] | None = None

    @property
    def consuming(self) -> bool:
        """Subscribed on the channel's current aiormq channel."""
        return self._underlay is not None and not self._underlay.is_closed

    async def start(self) -> None:
        self._channel.reopen_callbacks.add(self._on_reopen)
        await self._subscribe()

    async def cancel(self) -> None:
        """Stop delivery (unsettled messages stay with their handlers); once is enough."""
        if self._stopped:
            return
        self._stopped = True
        self._channel.reopen_callbacks.discard(self._on_reopen)
        if self._recovery is not None:
            self._recovery.cancel()
        if self.consuming and self._underlay is not None and self._tag is not None:
            await self._underlay.basic_cancel(self._tag)

    async def _subscribe(self) -> None:
        async with self._lock:
            if self._stopped or self.consuming:
                return
            underlay = await self._channel.get_underlay_channel()
            underlay.on_consumer_cancel_callbacks.add(self._on_cancel)
            ok = await underlay.basic_consume(self._queue.name, self._on_message, no_ack=False)
            self._underlay, self._tag = underlay, ok.consumer_tag

    async def _on_reopen(self, *_: Any) -> None:
        await self._subscribe()

    def _on_cancel(self, frame: Any) -> None:
        if frame.consumer_tag != self._tag or self._stopped:
            return
        self._underlay = None
        log.warning("RabbitMQ cancelled the consumer of %s; subscribing again", self._queue.name)
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover())

    async def _recover(self) -> None:
        while not self._stopped and not self.consuming:
            await asyncio.sleep(RESUBSCRIBE_DELAY)
            try:
                await self._queue.restore()  # declared and bound again
                await self._subscribe()
            except (AMQPError, ChannelInvalidStateError, ConnectionError, TimeoutError) as e:
                # A reopening channel subscribes by itself (`_on_reopen`); else try again.
                log.warning("could not subscribe to %s again: %r", self._queue.name, e)
