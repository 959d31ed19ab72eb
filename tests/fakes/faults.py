"""Scripted failures for the fake destinations, switchable while a fake runs.

A `FaultPlan` is consulted once per request to an upload route. Queued faults are
consumed first, one per request; when the queue is empty the standing switches
apply (hang, then always_status, then always_error, then permanent_error, then
delay_seconds). Each fake renders a fault in its own destination's error shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FaultKind(StrEnum):
    STATUS = "status"  # an HTTP error status in the destination's shape
    ERROR = "error"  # a destination error code (Flickr <err code>, Google per-item code)
    PERMANENT = "permanent"  # the destination's "bad image" refusal
    DELAY = "delay"  # process normally, then hold the response
    HANG = "hang"  # never answer (released only when the fake stops)


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    http_status: int | None = None
    retry_after: str | None = None
    # Imgur body style: "legacy" (data.error object), "errors" (2024 edge form), "string" (2025).
    shape: str | None = None
    code: int | None = None
    seconds: float = 0.0
    # Restrict to one of the fake's upload routes (e.g. Google's "upload" or "create"); None = any.
    route: str | None = None

    @classmethod
    def status(
        cls,
        status: int,
        *,
        retry_after: str | None = None,
        shape: str | None = None,
        route: str | None = None,
    ) -> Fault:
        return cls(
            FaultKind.STATUS, http_status=status, retry_after=retry_after, shape=shape, route=route
        )

    @classmethod
    def error(cls, code: int, *, route: str | None = None) -> Fault:
        return cls(FaultKind.ERROR, code=code, route=route)

    @classmethod
    def permanent(cls, *, route: str | None = None) -> Fault:
        return cls(FaultKind.PERMANENT, route=route)

    @classmethod
    def delay(cls, seconds: float, *, route: str | None = None) -> Fault:
        return cls(FaultKind.DELAY, seconds=seconds, route=route)

    @classmethod
    def hang(cls, *, route: str | None = None) -> Fault:
        return cls(FaultKind.HANG, route=route)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        return cls(**{**data, "kind": FaultKind(data["kind"])})


@dataclass
class FaultPlan:
    queue: list[Fault] = field(default_factory=list)
    always_status: int | None = None
    always_error: int | None = None
    permanent_error: bool = False
    delay_seconds: float = 0.0
    hang: bool = False
    retry_after: str | None = None  # sent with always_status
    # Token endpoints (OAuth refresh) answer this status instead of a token.
    token_status: int | None = None
    # Google batchCreate: answer 207 instead of 200 when the items' results are mixed.
    multi_status: bool = False

    def take(self, route: str) -> Fault | None:
        """The fault for one request to `route`, consuming a queued one if it applies."""
        if self.queue and self.queue[0].route in (None, route):
            return self.queue.pop(0)
        if self.hang:
            return Fault.hang()
        if self.always_status is not None:
            return Fault.status(self.always_status, retry_after=self.retry_after)
        if self.always_error is not None:
            return Fault.error(self.always_error)
        if self.permanent_error:
            return Fault.permanent()
        if self.delay_seconds > 0:
            return Fault.delay(self.delay_seconds)
        return None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["queue"] = [fault.to_json() for fault in self.queue]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultPlan:
        queue = [Fault.from_json(item) for item in data.get("queue", [])]
        return cls(**{**data, "queue": queue})
