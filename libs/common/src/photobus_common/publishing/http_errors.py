"""How an HTTP answer or a network failure becomes a `TransientError` or a `PermanentError`.

One place for every destination: 429, 5xx, timeouts and connection errors are
transient; other 4xx are permanent. The wait a server asks for comes from
`Retry-After` (seconds or an HTTP-date) or from rate-limit headers whose budget is
spent (Imgur's `X-RateLimit-UserReset` is an epoch, `X-Post-Rate-Limit-Reset` seconds).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

import aiohttp

from photobus_common.publishing.destination import PermanentError, PublishingError, TransientError

# Beyond this a server's wish is treated as a mistake; the retry tiers cap it anyway.
_MAX_WAIT = 24 * 3600.0


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds from now: a number of seconds or an HTTP-date."""
    if value is None or not value.strip():
        return None
    seconds = _number(value)
    if seconds is None:
        try:
            seconds = parsedate_to_datetime(value.strip()).timestamp() - (now or time.time())
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), _MAX_WAIT)


def server_wait(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The longest wait the answer's headers ask for, or None when they ask for none."""
    now = time.time() if now is None else now
    waits = [retry_after_seconds(headers.get("Retry-After"), now=now)]
    if _number(headers.get("X-RateLimit-UserRemaining")) == 0:
        reset = _number(headers.get("X-RateLimit-UserReset"))
        waits.append(None if reset is None else reset - now)
    if _number(headers.get("X-Post-Rate-Limit-Remaining")) == 0:
        waits.append(_number(headers.get("X-Post-Rate-Limit-Reset")))
    present = [min(max(w, 0.0), _MAX_WAIT) for w in waits if w is not None]
    return max(present) if present else None


def is_transient_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def error_for_status(status: int, headers: Mapping[str, str], message: str) -> PublishingError:
    """The error for a refused request, carrying the destination's own message."""
    reason = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    if is_transient_status(status):
        return TransientError(reason, retry_after=server_wait(headers))
    return PermanentError(reason)


@contextmanager
def network_errors_are_transient(what: str) -> Iterator[None]:
    """Timeouts and connection failures of aiohttp calls become `TransientError`."""
    try:
        yield
    except TimeoutError as e:
        raise TransientError(f"{what}: timed out") from e
    except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as e:
        raise TransientError(f"{what}: connection failed ({type(e).__name__})") from e
