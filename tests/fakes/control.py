"""Drive a fake running in another process through its `/_fake/...` control API."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.fakes.faults import Fault, FaultPlan
from tests.fakes.recording import RecordedRequest, RecordedUpload


class FakeControl:
    """`FakeControl(fake_url)`; each call opens its own short-lived session."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def _call(self, method: str, route: str, payload: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.url}/_fake/{route}", json=payload) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def set_faults(
        self, plan: FaultPlan | None = None, *, queue: list[Fault] | None = None, **switches: Any
    ) -> FaultPlan:
        """Replace the fault plan: pass a plan, or its fields (`queue=[...]`, `always_status=500`)."""
        if plan is None:
            plan = FaultPlan(queue=list(queue or []), **switches)
        return FaultPlan.from_json(await self._call("POST", "faults", plan.to_json()))

    async def faults(self) -> FaultPlan:
        return FaultPlan.from_json(await self._call("GET", "faults"))

    async def uploads(self) -> list[RecordedUpload]:
        return [RecordedUpload.from_json(item) for item in await self._call("GET", "uploads")]

    async def upload_content(self, remote_id: str) -> bytes:
        """The bytes the destination stored for one upload (e.g. to check EXIF was stripped)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/_fake/uploads/{remote_id}/content") as response,
        ):
            response.raise_for_status()
            return await response.read()

    async def requests(self) -> list[RecordedRequest]:
        return [RecordedRequest.from_json(item) for item in await self._call("GET", "requests")]

    async def reset(self) -> None:
        await self._call("POST", "reset")

    async def expire_access_tokens(self) -> None:
        await self._call("POST", "expire_tokens")

    async def flickr_verifier(self, oauth_token: str) -> str:
        """Approve a pending Flickr request token as the user would, returning the verifier."""
        answer = await self._call("POST", "flickr/approve", {"oauth_token": oauth_token})
        return str(answer["oauth_verifier"])

    async def gphotos_received(self) -> list[RecordedUpload]:
        """Google Photos: the bytes received at /v1/uploads (remote_id is the upload token)."""
        answer = await self._call("GET", "gphotos/received")
        return [RecordedUpload.from_json(item) for item in answer]

    async def expire_upload_tokens(self) -> None:
        """Google Photos: make every upload token issued so far unusable."""
        await self._call("POST", "gphotos/expire_upload_tokens")
