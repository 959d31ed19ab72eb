"""Google Photos Library API (contracts/destinations.md §C): raw byte upload, then
`mediaItems:batchCreate` (every item's status checked, whether HTTP 200 or 207), into
an app-created album remembered by name. `find_existing` lists the app-created media
items for the file name `<photo_id>.<ext>`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from photobus_common.publishing.http_errors import error_for_status
from photobus_common.publishing.settings import PublisherSettings, secret
from photobus_common.publishing.web_api import Answer, call

from photobus_publisher_gphotos.auth import GoogleTokens

MAX_DESCRIPTION = 1000
SEARCH_PAGES = 50  # of 100 items each
# google.rpc codes worth retrying: deadline exceeded, resource exhausted (quota),
# aborted, internal, unavailable. Everything else (invalid argument, ...) is permanent.
TRANSIENT_ITEM_CODES = frozenset({4, 8, 10, 13, 14})


def description_of(photo: PreparedPhoto) -> str:
    """Google Photos has one text field: title, description and tags, ≤1000 characters."""
    tags = " ".join("#" + "".join(tag.split()) for tag in photo.tags if tag.strip())
    text = "\n".join(part for part in (photo.title, photo.description, tags) if part)
    return text[:MAX_DESCRIPTION]


def error_message(answer: Answer) -> str:
    body = answer.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"].get("status") or "error")
    return answer.text[:200].strip()


def item_outcome(result: Mapping[str, Any]) -> Published | PublishingError:
    """One `newMediaItemResults` entry: the created item, or why it was not created."""
    status = result.get("status") or {}
    code = int(status.get("code") or 0)
    item = result.get("mediaItem")
    if code == 0 and isinstance(item, dict) and item.get("id"):
        return Published(str(item["id"]), str(item.get("productUrl") or ""))
    message = f"Google Photos item status {code}: {status.get('message') or 'no media item'}"
    return TransientError(message) if code in TRANSIENT_ITEM_CODES else PermanentError(message)


def batch_outcomes(
    answer: Answer, upload_tokens: Sequence[str]
) -> dict[str, Published | PublishingError]:
    """Each upload token's outcome, matched by the token each result echoes."""
    if answer.status not in (200, 207):
        raise error_for_status(answer.status, answer.headers, error_message(answer))
    body = answer.json()
    results = body.get("newMediaItemResults") if isinstance(body, dict) else None
    outcomes: dict[str, Published | PublishingError] = {}
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict) and result.get("uploadToken") in upload_tokens:
            outcomes[str(result["uploadToken"])] = item_outcome(result)
    for token in upload_tokens:
        outcomes.setdefault(token, TransientError("Google Photos sent no result for the item"))
    return outcomes


class GooglePhotosDestination(Destination):
    name: ClassVar = "gphotos"

    def __init__(self, settings: PublisherSettings, albums: AlbumBook) -> None:
        self.api = settings.gphotos_api_url.rstrip("/")
        self.tokens = GoogleTokens(
            client_id=secret(settings.gphotos_client_id),
            client_secret=secret(settings.gphotos_client_secret),
            refresh_token=secret(settings.gphotos_refresh_token),
            token_uri=settings.gphotos_token_url,
        )
        self.configured = all(
            (
                settings.gphotos_client_id,
                settings.gphotos_client_secret,
                settings.gphotos_refresh_token,
            )
        )
        self.timeout = settings.destination_timeout
        self.albums = albums
        self._session: aiohttp.ClientSession | None = None

    @property
    def is_configured(self) -> bool:
        return self.configured

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def upload(self, photo: PreparedPhoto) -> Published:
        album_id = None
        if photo.album:
            album_id, _ = await self.albums.ensure(photo.album, lambda: self._create_album(photo))
        token = await self._upload_bytes(photo)
        request: dict[str, Any] = {
            "newMediaItems": [
                {
                    "description": description_of(photo),
                    "simpleMediaItem": {"uploadToken": token, "fileName": photo.filename},
                }
            ]
        }
        if album_id is not None:
            request["albumId"] = album_id
        answer = await self._api("POST", "/v1/mediaItems:batchCreate", json=request)
        outcome = batch_outcomes(answer, [token])[token]
        if isinstance(outcome, PublishingError):
            raise outcome
        return outcome

    async def find_existing(self, photo_id: str) -> Published | None:
        page_token: str | None = None
        for _ in range(SEARCH_PAGES):
            params = {"pageSize": "100", **({"pageToken": page_token} if page_token else {})}
            answer = await self._api("GET", "/v1/mediaItems", params=params)
            body = self._json(answer)
            for item in body.get("mediaItems") or []:
                if str(item.get("filename", "")).startswith(f"{photo_id}."):
                    return Published(str(item["id"]), str(item.get("productUrl") or ""))
            page_token = body.get("nextPageToken")
            if not page_token:
                return None
        return None

    async def _upload_bytes(self, photo: PreparedPhoto) -> str:
        answer = await self._api(
            "POST",
            "/v1/uploads",
            data=photo.data,
            headers={
                "Content-Type": "application/octet-stream",
                "X-Goog-Upload-Content-Type": photo.content_type,
                "X-Goog-Upload-Protocol": "raw",
                "X-Goog-Upload-File-Name": photo.filename,
            },
        )
        if not answer.ok:
            raise error_for_status(answer.status, answer.headers, error_message(answer))
        token = answer.text.strip()
        if not token:
            raise TransientError("Google Photos sent an empty upload token")
        return token

    async def _create_album(self, photo: PreparedPhoto) -> str:
        answer = await self._api("POST", "/v1/albums", json={"album": {"title": photo.album}})
        album_id = self._json(answer).get("id")
        if not album_id:
            raise TransientError("Google Photos created the album but sent no id")
        return str(album_id)

    def _json(self, answer: Answer) -> dict[str, Any]:
        if not answer.ok:
            raise error_for_status(answer.status, answer.headers, error_message(answer))
        body = answer.json()
        return body if isinstance(body, dict) else {}

    async def _api(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One call with a Bearer token; a 401 (token expired) refreshes once and retries."""
        token = await self.tokens.access_token()
        answer = await self._send(method, path, token, kwargs)
        if answer.status == 401:
            token = await self.tokens.access_token(stale=token)
            answer = await self._send(method, path, token, kwargs)
        return answer

    async def _send(self, method: str, path: str, token: str, kwargs: dict[str, Any]) -> Answer:
        if self._session is None:
            raise RuntimeError("start() the destination first")
        options = dict(kwargs)  # the same call may be sent twice (after a refresh)
        options["headers"] = {**options.get("headers", {}), "Authorization": f"Bearer {token}"}
        return await call(
            self._session, method, self.api + path, what=f"Google Photos {method} {path}", **options
        )
