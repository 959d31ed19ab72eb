"""Imgur (contracts/destinations.md §A): OAuth2 refresh-token flow, Bearer uploads tied
to the account, albums created once and remembered, the account's images searched
by `name` (= photo_id) after a crash."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import Any, ClassVar

import aiohttp
from photobus_common.publishing import (
    AlbumBook,
    Destination,
    PermanentError,
    PreparedPhoto,
    Published,
    PublishingError,
    TransientError,
)
from photobus_common.publishing.http_errors import error_for_status, server_wait
from photobus_common.publishing.settings import PublisherSettings, secret
from photobus_common.publishing.web_api import Answer, call

# How far back `find_existing` looks through the account's images (newest first, 50 a page).
SEARCH_PAGES = 20


def error_message(answer: Answer) -> str:
    """Imgur's message in any of its three error shapes (or the raw body)."""
    body = answer.json()
    if isinstance(body, dict):
        data = body.get("data")
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict):  # {"code": 1003, "message": "File type invalid (1)", ...}
            return str(error.get("message") or error.get("code") or "error")
        if error:
            return str(error)
        errors = body.get("errors")  # 2024+ edge layer: {"errors": [{"detail": ...}]}
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("detail") or errors[0].get("status") or "error")
    return answer.text[:200].strip()


def _error(answer: Answer) -> PublishingError:
    return error_for_status(answer.status, answer.headers, error_message(answer))


class ImgurDestination(Destination):
    name: ClassVar = "imgur"

    def __init__(self, settings: PublisherSettings, albums: AlbumBook) -> None:
        self.api = settings.imgur_api_url.rstrip("/")
        self.client_id = secret(settings.imgur_client_id)
        self.client_secret = secret(settings.imgur_client_secret)
        self.refresh_token = secret(settings.imgur_refresh_token)
        self.timeout = settings.destination_timeout
        self.albums = albums
        self._session: aiohttp.ClientSession | None = None
        self._access_token: str | None = None
        self._refreshing = asyncio.Lock()
        # When a spent rate budget resets (wall clock: Imgur's reset header is an epoch).
        self._quiet_until = 0.0

    @property
    def is_configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.refresh_token)

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("start() the destination first")
        return self._session

    # -- the destination -------------------------------------------------------------

    async def upload(self, photo: PreparedPhoto) -> Published:
        album_id = None
        if photo.album:
            album_id, _ = await self.albums.ensure(photo.album, lambda: self._create_album(photo))

        def form() -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field(
                "image",
                io.BytesIO(photo.data),
                filename=photo.filename,
                content_type=photo.content_type,
            )
            data.add_field("type", "file")
            data.add_field("name", photo.photo_id)  # what find_existing looks for
            for name, value in (
                ("title", photo.title),
                ("description", photo.description),
                ("album", album_id),
            ):
                if value:
                    data.add_field(name, value)
            return data

        image = await self._api("POST", "/3/image", form)
        return Published(str(image["id"]), str(image["link"]))

    async def find_existing(self, photo_id: str) -> Published | None:
        for page in range(SEARCH_PAGES):
            images = await self._api("GET", f"/3/account/me/images/{page}")
            if not images:
                return None
            for image in images:
                if image.get("name") == photo_id:
                    return Published(str(image["id"]), str(image["link"]))
        return None

    async def _create_album(self, photo: PreparedPhoto) -> str:
        assert photo.album is not None
        album = await self._api(
            "POST",
            "/3/album",
            lambda: aiohttp.FormData({"title": photo.album, "privacy": "hidden"}),
        )
        return str(album["id"])

    # -- protocol --------------------------------------------------------------------

    async def _api(
        self, method: str, path: str, form: Callable[[], aiohttp.FormData] | None = None
    ) -> Any:
        """One call as the account; a 403 (expired token) refreshes once and retries once."""
        token = self._access_token or await self._refresh(None)
        answer = await self._send(method, path, token, form)
        if answer.status == 403:
            answer = await self._send(method, path, await self._refresh(token), form)
        body = answer.json()
        if not answer.ok or not isinstance(body, dict) or body.get("success") is False:
            raise _error(answer)
        return body.get("data")

    async def _send(
        self, method: str, path: str, token: str, form: Callable[[], aiohttp.FormData] | None
    ) -> Answer:
        """Send unless the rate budget is known to be spent: then wait for its reset rather
        than spend a call on a certain 429 (and risk the app being blocked for the month)."""
        quiet = self._quiet_until - time.time()
        if quiet > 0:
            raise TransientError(
                "Imgur rate limit reached; waiting for its reset", retry_after=quiet
            )
        answer = await call(
            self.session,
            method,
            self.api + path,
            what=f"Imgur {method} {path}",
            headers={"Authorization": f"Bearer {token}"},
            data=None if form is None else form(),
        )
        wait = server_wait(answer.headers)
        if wait:
            self._quiet_until = max(self._quiet_until, time.time() + wait)
        return answer

    async def _refresh(self, stale: str | None) -> str:
        """A fresh access token; concurrent callers holding the same stale one refresh once."""
        async with self._refreshing:
            if self._access_token is not None and self._access_token != stale:
                return self._access_token
            answer = await call(
                self.session,
                "POST",
                f"{self.api}/oauth2/token",
                what="Imgur token refresh",
                data={
                    "refresh_token": self.refresh_token,
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "grant_type": "refresh_token",
                },
            )
            body = answer.json()
            if answer.ok and isinstance(body, dict) and body.get("access_token"):
                self._access_token = str(body["access_token"])
                return self._access_token
            error = _error(answer)
            if isinstance(error, PermanentError):
                raise PermanentError(f"invalid credentials: {error_message(answer)}")
            raise error
