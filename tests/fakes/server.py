"""The machinery every fake shares: a real aiohttp server on 127.0.0.1, request
recording, the fault plan, and the `/_fake/...` control API for other processes."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import ClassVar, Self

from aiohttp import web

from tests.fakes.faults import FaultPlan
from tests.fakes.recording import RecordedRequest, RecordedUpload, record_request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CONTROL_PREFIX = "/_fake/"
MAX_BODY_BYTES = 300 * 1024 * 1024  # above every destination's own limit, so the fakes judge size


class FakeServer(ABC):
    name: ClassVar[str]

    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.uploads: list[RecordedUpload] = []
        # The bytes of each upload by remote id, so tests can inspect what was published.
        self.contents: dict[str, bytes] = {}
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()

    # -- what each destination provides ------------------------------------------

    @abstractmethod
    def add_routes(self, router: web.UrlDispatcher) -> None: ...

    @abstractmethod
    def expire_access_tokens(self) -> None:
        """Invalidate every access token issued so far (the refresh token stays good)."""

    def reset_state(self) -> None:
        """Forget everything stored (subclasses extend); credentials stay as configured."""
        return None

    def add_control_routes(self, router: web.UrlDispatcher) -> None:
        """Destination-specific `/_fake/...` routes."""
        return None

    def on_response(self, request: web.Request, response: web.StreamResponse) -> None:
        """Last look at every response before its headers go out (e.g. rate-limit headers)."""
        return None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        app = web.Application(middlewares=[self._recording], client_max_size=MAX_BODY_BYTES)
        self.add_routes(app.router)
        self._add_control_api(app.router)

        async def prepare(request: web.Request, response: web.StreamResponse) -> None:
            if not request.path.startswith(CONTROL_PREFIX):
                self.on_response(request, response)

        app.on_response_prepare.append(prepare)
        self._released = asyncio.Event()
        # A short shutdown timeout: held ("hang") requests are released on stop anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        _, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://127.0.0.1:{bound_port}"

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def reset(self) -> None:
        self.faults = FaultPlan()
        self.requests.clear()
        self.uploads.clear()
        self.contents.clear()
        self.reset_state()

    # -- helpers for the destinations -------------------------------------------------

    def record_upload(self, data: bytes, fields: dict[str, str], remote_id: str, url: str) -> None:
        self.uploads.append(RecordedUpload.of(data, fields, remote_id, url))
        self.contents[remote_id] = data

    async def hold_forever(self) -> web.Response:
        """A request that never gets its answer (until the fake stops)."""
        await self._released.wait()
        return web.Response(status=503, text="fake stopped")

    @web.middleware
    async def _recording(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        recorded = await record_request(request)
        self.requests.append(recorded)
        try:
            response = await handler(request)
        except web.HTTPException as refused:
            recorded.status = refused.status
            raise
        recorded.status = response.status
        return response

    # -- control API ---------------------------------------------------------------------

    def _add_control_api(self, router: web.UrlDispatcher) -> None:
        async def get_faults(_: web.Request) -> web.Response:
            return web.json_response(self.faults.to_json())

        async def set_faults(request: web.Request) -> web.Response:
            try:
                self.faults = FaultPlan.from_json(await request.json())
            except (TypeError, ValueError, KeyError) as bad:
                return web.json_response({"error": f"not a fault plan: {bad}"}, status=400)
            return web.json_response(self.faults.to_json())

        async def uploads(_: web.Request) -> web.Response:
            return web.json_response([upload.to_json() for upload in self.uploads])

        async def requests(_: web.Request) -> web.Response:
            return web.json_response([recorded.to_json() for recorded in self.requests])

        async def content(request: web.Request) -> web.Response:
            data = self.contents.get(request.match_info["remote_id"])
            if data is None:
                return web.json_response({"error": "no such upload"}, status=404)
            return web.Response(body=data, content_type="application/octet-stream")

        async def reset(_: web.Request) -> web.Response:
            self.reset()
            return web.json_response({"reset": True})

        async def expire_tokens(_: web.Request) -> web.Response:
            self.expire_access_tokens()
            return web.json_response({"expired": True})

        router.add_get(CONTROL_PREFIX + "faults", get_faults)
        router.add_post(CONTROL_PREFIX + "faults", set_faults)
        router.add_get(CONTROL_PREFIX + "uploads", uploads)
        router.add_get(CONTROL_PREFIX + "uploads/{remote_id}/content", content)
        router.add_get(CONTROL_PREFIX + "requests", requests)
        router.add_post(CONTROL_PREFIX + "reset", reset)
        router.add_post(CONTROL_PREFIX + "expire_tokens", expire_tokens)
        self.add_control_routes(router)
