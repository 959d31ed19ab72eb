"""multipart/form-data, streamed: each part's headers parsed, its body handed on as it arrives.

aiohttp's own `BodyPartReader.read_chunk` cost ~1.4 CPU-s per GB on top of receiving
the bytes (bench/ingest.py): to find the boundary it joins the previous chunk and the
new one, copying twice the data into a fresh allocation the kernel must map and zero.
Here each received piece is searched once for the delimiter and handed on as a view;
only the last few bytes, which could be the start of a delimiter, wait for the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp.helpers import parse_mimetype
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

# One part's header block; a 5,000-character filename fits many times over.
MAX_HEAD_BYTES = 64 * 1024
# What may follow a boundary on its line (RFC 2046 allows whitespace there).
MAX_BOUNDARY_LINE = 1024


class MalformedForm(ValueError):
    """The body is not the multipart/form-data its Content-Type announced."""


class Body(Protocol):
    """Where the request body comes from: aiohttp's `request.content`."""

    async def readchunk(self) -> tuple[bytes, bool]: ...


@dataclass(frozen=True)
class PartHead:
    name: str | None
    filename: str | None
    content_type: str
    charset: str


def media_type(content_type: str) -> str:
    """A Content-Type header's media type, lower case, without its parameters.

    Not aiohttp's `request.content_type`: it parses the header with the `email` package,
    ~0.7 CPU-ms for each upload (whose boundary makes every header new to its cache).
    """
    if not content_type:
        return ""
    mimetype = parse_mimetype(content_type)
    return f"{mimetype.type}/{mimetype.subtype}"


def form_boundary(content_type: str) -> bytes:
    """The boundary named by a multipart Content-Type header."""
    boundary = parse_mimetype(content_type).parameters.get("boundary", "")
    if not boundary:
        raise MalformedForm("the Content-Type names no boundary")
    if len(boundary) > 70:
        raise MalformedForm("the boundary is over 70 characters")
    return boundary.encode()


class FormReader:
    """Parts one after another: `next_part()`, then (optionally) `body()`.

    `on_read` runs after every read from the request body (size limits, idle timers).
    """

    def __init__(self, content: Body, boundary: bytes, on_read: Callable[[], None]) -> None:
        self._content = content
        self._on_read = on_read
        self._delimiter = b"\r\n--" + boundary
        # Unread bytes are self._buf[self._pos:]. The preamble is skipped like a body:
        # the CRLF in front lets the first delimiter (which has none) match.
        self._buf = b"\r\n"
        self._pos = 0
        self._in_body = True
        self._closed = False

    async def next_part(self) -> PartHead | None:
        """The next part's headers (its body follows); None after the closing delimiter."""
        if self._closed:
            return None
        async for _ in self.body():  # the rest of an unread body, or the preamble
            pass
        if not await self._fill(2):
            raise MalformedForm("the body ends right after a boundary")
        if self._buf.startswith(b"--", self._pos):  # the closing delimiter
            self._closed = True
            while await self._read():  # the epilogue: ignored
                pass
            return None
        padding = await self._until(b"\r\n", MAX_BOUNDARY_LINE, "a boundary line")
        if padding.strip(b" \t"):
            raise MalformedForm("a boundary is followed by other text on its line")
        self._in_body = True
        if not await self._fill(2):
            raise MalformedForm("the body ends inside a part's headers")
        if self._buf.startswith(b"\r\n", self._pos):  # a part without headers
            self._pos += 2
            return parse_head(b"")
        return parse_head(await self._until(b"\r\n\r\n", MAX_HEAD_BYTES, "a part's headers"))

    async def body(self) -> AsyncIterator[memoryview]:
        """The current part's body in pieces; each is valid until the next is asked for."""
        if not self._in_body:
            return
        delimiter = self._delimiter
        keep = len(delimiter) - 1  # bytes at a piece's end that may begin a delimiter
        buf, pos = self._buf, self._pos
        while (end := buf.find(delimiter, pos)) < 0:
            cut = max(pos, len(buf) - keep)
            self._pos = cut
            if cut > pos:
                yield memoryview(buf)[pos:cut]
            chunk = await self._read()
            if not chunk:
                raise MalformedForm("the body ends inside a part, before its closing boundary")
            tail = buf[cut:]
            if len(chunk) <= keep:  # too short to tell: search them together
                buf, pos = tail + chunk, 0
                self._buf, self._pos = buf, pos
                continue
            joint = tail + chunk[:keep]
            if (end := joint.find(delimiter)) >= 0:  # the delimiter spans the two reads
                self._buf, self._pos, self._in_body = chunk, end + len(delimiter) - len(tail), False
                if end:
                    yield memoryview(joint)[:end]
                return
            buf, pos = chunk, 0
            self._buf, self._pos = buf, pos
            if tail:
                yield memoryview(tail)
        self._buf, self._pos, self._in_body = buf, end + len(delimiter), False
        if end > pos:
            yield memoryview(buf)[pos:end]

    async def _read(self) -> bytes:
        """The next received piece as it came; b"" at the end of the body.

        Not `readany()`: that joins whatever pieces wait into one, a copy of every
        byte whenever the reader fell behind or a read spanned two HTTP chunks.
        """
        while True:
            chunk, end_of_http_chunk = await self._content.readchunk()
            self._on_read()
            if chunk or not end_of_http_chunk:
                return chunk

    async def _fill(self, size: int) -> bool:
        """At least `size` unread bytes are buffered; False if the body ends first."""
        while len(self._buf) - self._pos < size:
            chunk = await self._read()
            if not chunk:
                return False
            self._buf, self._pos = self._buf[self._pos :] + chunk, 0
        return True

    async def _until(self, separator: bytes, limit: int, what: str) -> bytes:
        """The unread bytes up to `separator` (consumed with it), at most `limit` of them."""
        searched = 0  # unread bytes known not to start the separator
        while (end := self._buf.find(separator, self._pos + searched)) < 0:
            unread = len(self._buf) - self._pos
            if unread > limit + len(separator):
                raise MalformedForm(f"{what} is over {limit} bytes")
            searched = max(0, unread - len(separator) + 1)
            if not await self._fill(unread + 1):
                raise MalformedForm(f"the body ends inside {what}")
        if end - self._pos > limit:
            raise MalformedForm(f"{what} is over {limit} bytes")
        found = self._buf[self._pos : end]
        self._pos = end + len(separator)
        return found


def parse_head(block: bytes) -> PartHead:
    """A part's header block (without its final blank line)."""
    headers: dict[str, str] = {}
    last = ""
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if not line:
            continue
        if line[:1] in (" ", "\t") and last:  # a folded header goes on
            headers[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MalformedForm(f"a part's header line is not `Name: value`: {line[:60]!r}")
        last = name.strip().lower()
        headers[last] = value.strip()
    _, params = parse_content_disposition(headers.get("content-disposition"))
    mimetype = parse_mimetype(headers.get("content-type", "text/plain"))
    return PartHead(
        name=content_disposition_filename(params, "name"),
        filename=content_disposition_filename(params, "filename"),
        content_type=f"{mimetype.type}/{mimetype.subtype}",
        charset=mimetype.parameters.get("charset", "utf-8"),
    )
