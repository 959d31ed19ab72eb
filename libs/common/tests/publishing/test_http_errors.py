"""Classifying destination answers: Retry-After forms and Imgur's rate-limit headers."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from photobus_common.publishing import PermanentError, TransientError
from photobus_common.publishing.breaker import CircuitBreaker
from photobus_common.publishing.http_errors import (
    error_for_status,
    retry_after_seconds,
    server_wait,
)

NOW = 1_750_000_000.0


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert retry_after_seconds("2", now=NOW) == 2
    assert retry_after_seconds(formatdate(NOW + 90, usegmt=True), now=NOW) == 90
    assert retry_after_seconds(formatdate(NOW - 90, usegmt=True), now=NOW) == 0
    assert retry_after_seconds("soon", now=NOW) is None


def test_imgur_spent_budgets_name_the_wait() -> None:
    user = {"X-RateLimit-UserRemaining": "0", "X-RateLimit-UserReset": str(int(NOW + 600))}
    post = {"X-Post-Rate-Limit-Remaining": "0", "X-Post-Rate-Limit-Reset": "3569"}
    assert server_wait(user, now=NOW) == 600
    assert server_wait(post, now=NOW) == 3569
    assert server_wait({**user, "Retry-After": "5"}, now=NOW) == 600
    # Budget left: the reset headers mean nothing.
    assert (
        server_wait({"X-Post-Rate-Limit-Remaining": "10", "X-Post-Rate-Limit-Reset": "9"}) is None
    )


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_throttling_and_server_errors_are_transient(status: int) -> None:
    error = error_for_status(status, {"Retry-After": "7"}, "busy")
    assert isinstance(error, TransientError)
    assert (error.retry_after, error.reason) == (7, f"HTTP {status}: busy")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 415, 417])
def test_other_client_errors_are_permanent(status: int) -> None:
    assert isinstance(error_for_status(status, {}, "File type invalid (1)"), PermanentError)


def test_a_server_wait_holds_the_breaker_even_while_closed() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=5, cool_down=30, clock=lambda: now[0])
    breaker.failed(retry_after=2)
    assert not breaker.is_open
    assert not breaker.admit()
    assert breaker.wait() == 2
    now[0] = 2.5
    assert breaker.admit()
