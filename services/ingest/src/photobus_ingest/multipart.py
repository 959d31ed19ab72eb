"""Reading an upload request: file parts streamed into spools, text fields collected.

Parts are read in the order they come, so option fields may come before or after the
files. Nothing is held in memory: each file part goes chunk by chunk into its own
spool (hashed, counted, sniffed), and is header-checked once it ends. The whole body
is counted as it streams, because a chunked body announces no length.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from photobus_common.blobs import BlobStore

from photobus_ingest.formdata import (
    FormReader,
    MalformedForm,
    PartHead,
    form_boundary,
    media_type,
)
from photobus_ingest.intake import Checked, Refused, Spool, safe_filename
from photobus_ingest.routes.errors import ApiError, BodyTooLarge
from photobus_ingest.routes.options import OPTION_FIELDS

# Text fields are small; a huge one is a mistake or an attack, not a title.
FIELD_LIMIT = 64 * 1024
# Parts that are not files (options, unknown fields): a form has a handful; 10,000 is an attack.
MAX_FIELDS = 100
FILE_FIELDS = frozenset({"file", "files", "photo_file"})
# Repeated list fields add up (`-F tags=a -F tags=b`); any other repeated field: last wins.
LIST_FIELDS = frozenset({"tags", "destinations", "skip"})


@dataclass
class UploadedFile:
    item_id: str
    filename: str | None
    spool: Spool
    verdict: Checked | Refused


@dataclass
class Upload:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    async def discard(self) -> None:
        """Remove every spool the blob store did not take over."""
        for f in self.files:
            await f.spool.discard()


class BodyMeter:
    """Counts every byte of the request body as it arrives, against the upload limit.

    Each check also pushes back the `idle` deadline by `read_timeout`: aiohttp has no
    body read timeout, so without it a client that stops sending holds its spool for ever.
    """

    def __init__(self, request: web.Request, limit: int, read_timeout: float = 60.0) -> None:
        self._content = request.content
        self.limit = limit
        self.read_timeout = read_timeout
        self.idle: asyncio.Timeout | None = None
        self._moved_at = float("-inf")  # when the idle deadline was last pushed back
        self._slack = min(1.0, read_timeout / 10)
        if request.content_length is not None and request.content_length > limit:
            raise BodyTooLarge(limit)

    def check(self) -> None:
        if self._content.total_bytes > self.limit:
            raise BodyTooLarge(self.limit)
        if self.idle is not None:
            # Moved only after `slack` has passed (a body comes in dozens of pieces a
            # second, and each move cancels a timer and makes another), and `slack`
            # further out, so a stall is still answered after no less than read_timeout.
            now = asyncio.get_running_loop().time()
            if now - self._moved_at >= self._slack:
                self._moved_at = now
                self.idle.reschedule(now + self.read_timeout + self._slack)


async def read_upload(
    request: web.Request,
    *,
    spool_dir: Path,
    blobs: BlobStore,
    max_pixels: int,
    max_bytes: int,
    max_items: int,
    read_timeout: float = 60.0,
) -> Upload:
    """Read a multipart/form-data body to its end; the caller discards the Upload after use.

    A body that stops arriving for `read_timeout` seconds is answered 408.
    """
    content_type = request.headers.get(hdrs.CONTENT_TYPE, "")
    if media_type(content_type) != "multipart/form-data":
        raise ApiError(
            415, "unsupported_media_type", "Send the files as a multipart/form-data body."
        )
    meter = BodyMeter(request, max_bytes, read_timeout)
    try:
        boundary = form_boundary(content_type)
    except MalformedForm as e:
        raise ApiError(400, "bad_multipart", f"The multipart body is malformed: {e}.") from e
    form = FormReader(request.content, boundary, on_read=meter.check)
    upload = Upload()
    fields = 0
    try:
        async with asyncio.timeout(None) as meter.idle:
            meter.check()  # starts the idle deadline
            while (part := await form.next_part()) is not None:
                if part.content_type.startswith("multipart/"):
                    raise ApiError(
                        400,
                        "bad_multipart",
                        "Nested multipart bodies are not supported: "
                        "send each file as its own part of one multipart/form-data body.",
                    )
                if part.filename is not None or part.name in FILE_FIELDS:
                    if len(upload.files) >= max_items:
                        raise ApiError(
                            400,
                            "too_many_items",
                            f"At most {max_items} files per request: split the upload.",
                        )
                    upload.files.append(
                        await _read_file(form, part, Spool(spool_dir, blobs), max_pixels)
                    )
                else:
                    fields += 1
                    if fields > MAX_FIELDS:
                        raise ApiError(
                            400,
                            "too_many_fields",
                            f"The form has more than {MAX_FIELDS} fields besides its files.",
                        )
                    if part.name is not None and part.name in OPTION_FIELDS:
                        _add_field(upload.fields, part.name, await _read_field(form, part))
                    # an unknown field: harmless, ignored (next_part skips its body)
            meter.check()
    except TimeoutError as e:
        await upload.discard()
        raise ApiError(
            408,
            "body_timeout",
            f"Nothing of the request body arrived for {read_timeout:g} seconds: "
            "check the connection and send the upload again.",
        ) from e
    except MalformedForm as e:
        await upload.discard()
        raise ApiError(400, "bad_multipart", f"The multipart body is malformed: {e}.") from e
    except HttpProcessingError as e:
        await upload.discard()
        raise ApiError(400, "bad_multipart", f"The multipart body is malformed: {e.message}") from e
    except BaseException:
        await upload.discard()
        raise
    return upload


async def _read_file(
    form: FormReader, part: PartHead, spool: Spool, max_pixels: int
) -> UploadedFile:
    try:
        async for piece in form.body():
            await spool.write(piece)
        verdict = await spool.check(max_pixels=max_pixels)
    except BaseException:
        await spool.discard()
        raise
    if isinstance(verdict, Refused):
        await spool.discard()  # nothing of a refused file is kept
    return UploadedFile(uuid.uuid4().hex, safe_filename(part.filename), spool, verdict)


async def _read_field(form: FormReader, part: PartHead) -> str:
    data = bytearray()
    async for piece in form.body():
        data += piece
        if len(data) > FIELD_LIMIT:
            raise ApiError(
                400, "field_too_large", f"The field `{part.name}` is over {FIELD_LIMIT} bytes."
            )
    try:
        return data.decode(part.charset, errors="replace")
    except LookupError:  # a charset Python does not know: read it as the default
        return data.decode("utf-8", errors="replace")


def _add_field(fields: dict[str, str], name: str, value: str) -> None:
    if name in LIST_FIELDS and name in fields:
        fields[name] = f"{fields[name]},{value}"
    else:
        fields[name] = value
