"""Where originals and renditions live: a local directory (default) or any S3 bucket.

Keys: `originals/<sha256>` (immutable) and `renditions/<sha256>/<name>.<ext>`.
"""

from __future__ import annotations

from urllib.parse import urlparse

from photobus_common.blobs.base import (
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    Incoming,
)
from photobus_common.blobs.local import LocalBlobStore
from photobus_common.blobs.s3 import S3BlobStore

__all__ = [
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreUnavailable",
    "Incoming",
    "LocalBlobStore",
    "S3BlobStore",
    "open_blob_store",
    "original_key",
    "rendition_key",
]


def original_key(photo_id: str) -> str:
    return f"originals/{photo_id}"


def rendition_key(photo_id: str, name: str, ext: str) -> str:
    return f"renditions/{photo_id}/{name}.{ext}"


def open_blob_store(
    url: str, *, endpoint_url: str | None = None, region: str = "us-east-1"
) -> BlobStore:
    """`file://DIR` (relative paths allowed: `file://./var/blobs`) or `s3://BUCKET[/PREFIX]`."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalBlobStore((parsed.netloc + parsed.path) or ".")
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"no bucket in blob URL {url!r}")
        return S3BlobStore(
            parsed.netloc, parsed.path.strip("/"), endpoint_url=endpoint_url, region=region
        )
    raise ValueError(f"unsupported blob URL {url!r}: use file://DIR or s3://BUCKET[/PREFIX]")
