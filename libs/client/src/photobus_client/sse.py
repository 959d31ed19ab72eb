"""Server-Sent Events: the `event:`/`data:` lines of a stream, as (event, data) pairs."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: str


async def parse_events(lines: AsyncIterable[bytes]) -> AsyncIterator[ServerEvent]:
    """Events of an SSE byte stream, line by line (comments and pings are skipped)."""
    event, data = "message", list[str]()
    async for raw in lines:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield ServerEvent(event, "\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if data:
        yield ServerEvent(event, "\n".join(data))
