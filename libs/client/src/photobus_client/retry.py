"""Retrying what photobus asks to be retried: 503 (with Retry-After) and lost connections.

Exponential backoff with full jitter, capped; a Retry-After from the server wins.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from photobus_client.errors import ServerBusy, ServerUnreachable

T = TypeVar("T")

RetryNotice = Callable[[int, float, Exception], None]
"""Called before each wait: (attempt that failed, seconds to wait, why)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, error: Exception) -> float:
        """Seconds to wait after `attempt` (1-based) failed with `error`."""
        if isinstance(error, ServerBusy) and error.retry_after is not None:
            return min(error.retry_after, self.max_delay)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


NO_RETRY = RetryPolicy(attempts=1)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    on_retry: RetryNotice | None = None,
) -> T:
    """`call()` until it succeeds, raises something not retryable, or attempts run out."""
    attempt = 1
    while True:
        try:
            return await call()
        except (ServerBusy, ServerUnreachable) as e:
            if attempt >= policy.attempts:
                raise
            wait = policy.delay(attempt, e)
            if on_retry is not None:
                on_retry(attempt, wait, e)
            await asyncio.sleep(wait)
            attempt += 1
