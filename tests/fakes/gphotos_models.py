"""Google Photos Library API shapes (§C): errors, scopes, albums, media items, page tokens."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

SCOPE_PREFIX = "https://www.googleapis.com/auth/photoslibrary"
APPENDONLY = f"{SCOPE_PREFIX}.appendonly"
READONLY_APP_CREATED = f"{SCOPE_PREFIX}.readonly.appcreateddata"
EDIT_APP_CREATED = f"{SCOPE_PREFIX}.edit.appcreateddata"

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential."
)
INSUFFICIENT_SCOPES = "Request had insufficient authentication scopes."
ITEM_FAILED = "Failed: There was an error while trying to create this media item."


def google_error(status: int, message: str) -> web.Response:
    name = _STATUS_NAMES.get(status, "UNKNOWN")
    body = {"error": {"code": status, "message": message, "status": name}}
    return web.json_response(body, status=status)


def default_message(status: int) -> str:
    if status == 429:
        return "Quota exceeded for quota metric 'All requests' and limit 'All requests per day'."
    if status == 401:
        return UNAUTHENTICATED
    return f"Fake {_STATUS_NAMES.get(status, 'error').lower()}."


def new_id() -> str:
    return "AF1Qip" + secrets.token_urlsafe(48)


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def offset_of(token: str | None) -> int | None:
    """The offset a page token stands for; None for a token this fake never issued."""
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(value) if kind == "offset" else None
    except ValueError:
        return None


@dataclass
class IssuedToken:
    scopes: frozenset[str]
    expires_at: float


@dataclass
class MediaItem:
    id: str
    description: str
    filename: str
    mime: str
    width: int
    height: int
    sha256: str
    created: float = field(default_factory=time.time)

    @property
    def product_url(self) -> str:
        return f"https://photos.google.com/lr/photo/{self.id}"

    def model(self) -> dict[str, Any]:
        creation = datetime.fromtimestamp(self.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data: dict[str, Any] = {
            "id": self.id,
            "productUrl": self.product_url,
            "baseUrl": f"https://lh3.googleusercontent.com/lr/{self.id}",
            "mimeType": self.mime,
            "mediaMetadata": {
                "creationTime": creation,
                "width": str(self.width),  # int64 travels as a JSON string
                "height": str(self.height),
                "photo": {},
            },
            "filename": self.filename,
        }
        if self.description:
            data["description"] = self.description
        return data


@dataclass
class Album:
    id: str
    title: str
    app_created: bool
    item_ids: list[str] = field(default_factory=list)

    def model(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "productUrl": f"https://photos.google.com/lr/album/{self.id}",
            "isWriteable": self.app_created,
        }
        if self.item_ids:
            data["mediaItemsCount"] = str(len(self.item_ids))
            data["coverPhotoMediaItemId"] = self.item_ids[0]
            data["coverPhotoBaseUrl"] = f"https://lh3.googleusercontent.com/lr/{self.item_ids[0]}"
        return data


def page(items: list[Any], token: str | None, size: int, key: str) -> dict[str, Any] | None:
    """One page of `items` as `{key: [...], "nextPageToken": ...}`; Google omits empty lists."""
    start = offset_of(token)
    if start is None:
        return None
    chosen = items[start : start + size]
    body: dict[str, Any] = {key: chosen} if chosen else {}
    if start + size < len(items):
        body["nextPageToken"] = page_token(start + size)
    return body
