"""Bytes arrive → spool + hash + count → sniff → probe → blob store.

The one path every original takes into photobus, whether it came in an upload or
from a URL fetch. Bytes are never held in memory: each chunk is hashed, counted and
appended to a spool file next to the blob store, so storing it is a rename (local
store) or a streamed upload (S3). Nothing decodes the pixels here: `probe_image`
reads only the header, and refuses an image over the pixel budget before anyone
else tries to decode it.
"""

from __future__ import annotations

import asyncio
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from photobus_common.blobs import BlobStore, BlobStoreUnavailable, original_key
from photobus_common.events import ItemOptions, PhotoReceived, PhotoRejected

from photobus_ingest.hashfile import HashingWriter
from photobus_ingest.probe import ProbeError, probe_image
from photobus_ingest.sniff import SNIFF_BYTES, sniff_image_type

PRODUCER = "ingest"


@dataclass(frozen=True)
class Refused:
    """This item is not taken in; `reason` is the code of its photo.rejected event."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Checked:
    """An image whose header passed: ready to store."""

    photo_id: str
    size: int
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class Stored:
    photo_id: str
    blob_key: str
    size: int
    content_type: str
    width: int
    height: int
    duplicate: bool  # the original was already in the blob store


Outcome = Stored | Refused


def spool_directory(blobs: BlobStore) -> Path:
    """Where spools go: beside the blob store when it has a spot for them (a rename away)."""
    directory = blobs.spool_dir() or Path(tempfile.gettempdir()) / "photobus-ingest"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class Spool:
    """One item's bytes on their way in, hashed, counted and sniffed as they arrive.

    Use as `async with Spool(directory, blobs) as spool:`; the file is removed on exit
    unless the blob store took it over. The blob store sees the file grow and may
    upload it meanwhile (S3: in parts), before its key, the hash, is known.
    """

    def __init__(self, directory: Path, blobs: BlobStore) -> None:
        self.path = directory / f"spool-{uuid.uuid4().hex}"
        self._blobs = blobs
        self._incoming = blobs.incoming(self.path)
        # The writer creates the file on its own thread, before anything is written.
        self._writer = HashingWriter(self.path, write_behind=self._incoming.keeps_file)
        self._taken = False  # the blob store has the file now
        self._head = b""
        self.size = 0
        self.content_type: str | None = None
        self._sniffed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.discard()

    async def write(self, chunk: bytes | memoryview) -> None:
        """Take the next chunk (the `sink` of fetches and uploads alike)."""
        self.size += len(chunk)
        if not self._sniffed:
            self._head += chunk[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._sniff()
        if self._sniffed and self.content_type is None:
            return  # not an image: drain the rest without keeping it
        try:
            await self._writer.write(chunk)
        except OSError as e:  # a full or failing disk: storage is down, not the upload bad
            raise BlobStoreUnavailable(f"could not spool the upload: {e}") from e
        self._incoming.grown(self._writer.written)

    async def _finish_writing(self) -> str:
        """Everything is in the file, which is closed (its errors surface here); the hash."""
        try:
            photo_id = await self._writer.finish()
        except OSError as e:
            raise BlobStoreUnavailable(f"could not spool the upload: {e}") from e
        self._incoming.grown(self._writer.written)
        return photo_id

    def _sniff(self) -> None:
        self._sniffed = True
        self.content_type = sniff_image_type(self._head)

    async def check(self, *, max_pixels: int) -> Checked | Refused:
        """Everything has arrived: is it an image we take, within the pixel budget?"""
        photo_id = await self._finish_writing()
        if self.size == 0:
            return Refused("empty_file", "The file is empty: send the photo's bytes.")
        if not self._sniffed:
            self._sniff()
        if self.content_type is None:
            return Refused(
                "not_an_image",
                "This file is not an image photobus can read (JPEG, PNG, GIF, WebP, TIFF, HEIC…).",
            )
        try:
            probe = await asyncio.to_thread(
                probe_image, self.path, content_type=self.content_type, max_pixels=max_pixels
            )
        except ProbeError as e:
            return Refused(e.reason, e.detail)
        return Checked(
            photo_id=photo_id,
            size=self.size,
            content_type=self.content_type,
            width=probe.width,
            height=probe.height,
        )

    async def store(self, checked: Checked) -> Stored:
        """Put the original in the blob store (once: the same bytes are the same photo).

        Raises BlobStoreUnavailable when the store cannot take it.
        """
        key = original_key(checked.photo_id)
        duplicate = await self._blobs.stat(key) is not None
        if duplicate:
            await self._incoming.abort()
        else:
            await self._incoming.commit(key, content_type=checked.content_type)
            self._taken = True
        return Stored(
            photo_id=checked.photo_id,
            blob_key=key,
            size=checked.size,
            content_type=checked.content_type,
            width=checked.width,
            height=checked.height,
            duplicate=duplicate,
        )

    async def discard(self) -> None:
        self._writer.abandon()
        await self._incoming.abort()
        if not self._taken:
            await self._writer.created()  # or the file could appear after its removal
            # Off the loop: unlinking a large file takes a while.
            await asyncio.to_thread(self.path.unlink, missing_ok=True)


_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def safe_filename(raw: str | None) -> str | None:
    """The name to show for an upload: its basename, without control or bidi characters.

    Only ever displayed; storage keys come from the content hash.
    """
    if not raw:
        return None
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(
        c for c in base if c not in _BIDI_CONTROLS and unicodedata.category(c) != "Cc"
    ).strip()
    if cleaned in {"", ".", ".."}:
        return None
    return cleaned[:255]


def outcome_event(
    outcome: Outcome,
    *,
    job_id: str | None,
    item_id: str,
    options: ItemOptions,
    owner: str | None,
    filename: str | None = None,
    source_url: str | None = None,
) -> PhotoReceived | PhotoRejected:
    if isinstance(outcome, Refused):
        return PhotoRejected(
            producer=PRODUCER,
            job_id=job_id,
            item_id=item_id,
            reason=outcome.reason,
            detail=outcome.detail,
        )
    return PhotoReceived(
        producer=PRODUCER,
        job_id=job_id,
        owner=owner,
        item_id=item_id,
        photo_id=outcome.photo_id,
        blob_key=outcome.blob_key,
        size=outcome.size,
        content_type=outcome.content_type,
        width=outcome.width,
        height=outcome.height,
        filename=filename,
        source_url=source_url,
        options=options,
    )
