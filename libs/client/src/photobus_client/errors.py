"""What can go wrong talking to photobus, as a small typed tree.

Every error's message is one line a person can act on; the CLI prints it as is.
"""

from __future__ import annotations


class PhotobusError(Exception):
    """Base of every error the client raises."""


class ServerUnreachable(PhotobusError):
    """No HTTP answer at all: refused, reset, timed out, or the name does not resolve."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"photobus at {url} is unreachable ({reason}); is it running? "
            "Set PHOTOBUS_URL to its ingest address."
        )
        self.url = url
        self.reason = reason


class ApiError(PhotobusError):
    """An HTTP error answer, with photobus's `{"error": code, "detail": ...}` body."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class AuthError(ApiError):
    """401/403: the API key is missing, unknown or not allowed this."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(status, code, detail)
        self.args = (
            f"photobus refused the API key (HTTP {status} {code}: {detail}); "
            "check PHOTOBUS_API_KEY.",
        )


class ServerBusy(ApiError):
    """503: a dependency (RabbitMQ, the blob store, Postgres) is down; retry after a while."""

    def __init__(self, code: str, detail: str, retry_after: float | None) -> None:
        super().__init__(503, code, detail)
        self.retry_after = retry_after
