"""One HTTP call to a destination's API with aiohttp: network failures are transient,
and the whole answer is read so each destination can parse its own error shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from photobus_common.publishing.http_errors import network_errors_are_transient


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


async def call(
    session: aiohttp.ClientSession, method: str, url: str, *, what: str, **kwargs: Any
) -> Answer:
    with network_errors_are_transient(what):
        async with session.request(method, url, **kwargs) as response:
            return Answer(response.status, response.headers.copy(), await response.read())
