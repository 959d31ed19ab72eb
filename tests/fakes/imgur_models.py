"""What the fake Imgur stores: images and albums, rendered as the API's models (§A.3, §A.6)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/tiff": "tiff",
    "image/bmp": "bmp",
    "application/pdf": "pdf",
}


@dataclass
class Owner:
    """Who made a call: an account (Bearer) or the anonymous app (Client-ID)."""

    account_id: int = 0
    account_url: str | None = None

    @property
    def is_account(self) -> bool:
        return self.account_id != 0


@dataclass
class StoredImage:
    id: str
    deletehash: str
    owner: Owner
    mime: str
    width: int
    height: int
    size: int
    name: str | None
    title: str | None
    description: str | None
    datetime: int = field(default_factory=lambda: int(time.time()))

    @property
    def link(self) -> str:
        return f"https://i.imgur.com/{self.id}.{_EXTENSIONS.get(self.mime, 'jpg')}"

    def model(self, *, with_deletehash: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "datetime": self.datetime,
            "type": self.mime,
            "animated": False,
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "views": 0,
            "bandwidth": 0,
            "vote": None,
            "favorite": False,
            "nsfw": None,
            "section": None,
            "account_url": self.owner.account_url,
            "account_id": self.owner.account_id,
            "is_ad": False,
            "in_most_viral": False,
            "has_sound": False,
            "tags": [],
            "ad_type": 0,
            "ad_url": "",
            "in_gallery": False,
            "name": self.name or "",
            "link": self.link,
        }
        if with_deletehash:
            data["deletehash"] = self.deletehash
        return data


@dataclass
class StoredAlbum:
    id: str
    deletehash: str
    owner: Owner
    title: str | None
    description: str | None
    privacy: str
    image_ids: list[str] = field(default_factory=list)
    datetime: int = field(default_factory=lambda: int(time.time()))

    def model(
        self, images: list[dict[str, Any]] | None, *, with_deletehash: bool
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "datetime": self.datetime,
            "cover": self.image_ids[0] if self.image_ids else None,
            "account_url": self.owner.account_url,
            "account_id": self.owner.account_id or None,
            "privacy": self.privacy,
            "layout": "blog",
            "views": 0,
            "link": f"https://imgur.com/a/{self.id}",
            "images_count": len(self.image_ids),
            "in_gallery": False,
        }
        if images is not None:
            data["images"] = images
        if with_deletehash:
            data["deletehash"] = self.deletehash
        return data
