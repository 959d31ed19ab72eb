"""A destination's budget in this process: how many calls at once, and a circuit breaker.

After `threshold` transient failures in a row the circuit opens for `cool_down`
seconds: messages arriving then are parked, not sent. Once the cool-down has
passed one call at a time goes through as a probe; a success closes the circuit,
a failure opens it again. A server that names a wait (Retry-After, a spent rate
budget) holds every call until then, open circuit or not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from photobus_common.publishing.destination import TransientError


class CircuitOpen(Exception):
    def __init__(self, reason: str, wait: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 5,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cool_down = cool_down
        self.clock = clock
        self.failures = 0
        self._open_until = 0.0
        self._held_until = 0.0
        self._probing = False
        self.last_failure = ""

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold

    def admit(self) -> bool:
        """Whether a call may go now; a call let through an open circuit is its one probe."""
        now = self.clock()
        if now < self._held_until:
            return False
        if not self.is_open:
            return True
        if now < self._open_until or self._probing:
            return False
        self._probing = True
        return True

    def wait(self) -> float:
        """Seconds until a call could be admitted (at least a second while a probe is out)."""
        now = self.clock()
        until = max(self._held_until, self._open_until if self.is_open else 0.0)
        return max(until - now, 1.0 if self._probing else 0.0)

    def succeeded(self) -> None:
        self.failures = 0
        self._probing = False

    def failed(self, *, retry_after: float | None = None, reason: str = "") -> None:
        """A transient failure; `retry_after` (the server's wish) holds every call."""
        now = self.clock()
        self.failures += 1
        self.last_failure = reason
        self._probing = False
        if self.is_open:
            self._open_until = now + self.cool_down
        if retry_after:
            self._held_until = max(self._held_until, now + retry_after)

    def released(self) -> None:
        """A call that ended neither way (a permanent error says nothing about health)."""
        self._probing = False


class Budget:
    """A breaker plus a cap on concurrent calls to the destination."""

    def __init__(self, breaker: CircuitBreaker, *, concurrency: int = 4) -> None:
        self.breaker = breaker
        self._slots = asyncio.Semaphore(concurrency)

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """Enter only if the breaker admits the call (else `CircuitOpen`); the block's
        outcome is recorded: a `TransientError` counts against the destination."""
        breaker = self.breaker
        if not breaker.admit():
            reason = "circuit open" if breaker.is_open else "rate limited by the destination"
            if breaker.last_failure:  # what the destination last said is what a person needs
                reason = f"{reason} after: {breaker.last_failure}"
            raise CircuitOpen(reason, breaker.wait())
        try:
            async with self._slots:
                yield
        except TransientError as e:
            self.breaker.failed(retry_after=e.retry_after, reason=e.reason)
            raise
        except BaseException:
            self.breaker.released()
            raise
        else:
            self.breaker.succeeded()
