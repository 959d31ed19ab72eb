"""Byte uploads to Google Photos (§C.3, §C.4): raw and resumable, ending in an upload token."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

from tests.fakes.sniff import image_size, sniff_content_type

UPLOAD_TOKEN_LIFETIME = 24 * 3600
CHUNK_GRANULARITY = 256 * 1024
PHOTOS_ACCEPTED = frozenset(
    {
        "image/avif",
        "image/bmp",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/x-icon",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "image/webp",
    }
)


@dataclass
class UploadedBytes:
    """What an upload token stands for; batchCreate turns it into a media item."""

    token: str
    data: bytes = field(repr=False)
    sha256: str
    size: int
    mime: str | None  # sniffed; None when not an image we know
    width: int
    height: int
    file_name: str | None
    issued: float = field(default_factory=time.time)
    used: bool = False
    expired: bool = False
    # The google.rpc code batchCreate reports for this item (3 for bytes that aren't a photo).
    failure_code: int | None = None

    @classmethod
    def of(cls, data: bytes, file_name: str | None) -> UploadedBytes:
        mime = sniff_content_type(data)
        width, height = image_size(data)
        return cls(
            token="CAIS" + secrets.token_urlsafe(64),
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            mime=mime,
            width=width,
            height=height,
            file_name=file_name,
            failure_code=None if mime in PHOTOS_ACCEPTED else 3,
        )

    def usable(self, now: float) -> bool:
        return not self.expired and now - self.issued < UPLOAD_TOKEN_LIFETIME


@dataclass
class ResumableSession:
    id: str
    raw_size: int
    file_name: str | None
    received: bytearray = field(default_factory=bytearray)
    token: str | None = None  # set once finalized
    cancelled: bool = False

    @property
    def status(self) -> str:
        if self.cancelled:
            return "cancelled"
        return "final" if self.token is not None else "active"
