"""What a fake received: every request (refused ones too) and every upload it stored."""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from tests.fakes.sniff import sniff_content_type


@dataclass
class RecordedFile:
    field: str
    filename: str | None
    size: int
    sha256: str


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)
    files: list[RecordedFile] = field(default_factory=list)
    json: Any = None
    body_size: int = 0
    time: float = field(default_factory=time.time)  # wall clock, comparable across processes
    status: int | None = None  # filled in once answered; None while held open

    def field(self, name: str) -> str | None:
        """The first value of a form (or query) field."""
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedRequest:
        files = [RecordedFile(**item) for item in data.get("files", [])]
        return cls(**{**data, "files": files})


@dataclass
class RecordedUpload:
    sha256: str
    size: int
    content_type: str | None  # sniffed from the bytes, not the declared type
    fields: dict[str, str]
    remote_id: str
    url: str
    time: float = field(default_factory=time.time)

    @classmethod
    def of(cls, data: bytes, fields: dict[str, str], remote_id: str, url: str) -> RecordedUpload:
        return cls(
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content_type=sniff_content_type(data),
            fields=fields,
            remote_id=remote_id,
            url=url,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordedUpload:
        return cls(**data)


def _lists(multi: MultiMapping[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in multi.items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def file_bytes(value: object) -> bytes | None:
    """The bytes of a multipart file part (with or without a filename), else None."""
    if isinstance(value, web.FileField):
        data = value.file.read()
        value.file.seek(0)  # the handler reads it again
        return data
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return None


async def record_request(request: web.Request) -> RecordedRequest:
    """Snapshot a request; reading the body here leaves it cached for the handler."""
    recorded = RecordedRequest(
        method=request.method,
        path=request.path,
        query=_lists(request.query),
        headers=dict(request.headers),
    )
    if not request.can_read_body:
        return recorded
    if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.post()
        except ValueError:
            return recorded
        recorded.form = _lists(form)
        for key, value in form.items():
            data = file_bytes(value)
            if data is not None:
                filename = value.filename if isinstance(value, web.FileField) else None
                digest = hashlib.sha256(data).hexdigest()
                recorded.files.append(RecordedFile(key, filename, len(data), digest))
                recorded.body_size += len(data)
        return recorded
    body = await request.read()
    recorded.body_size = len(body)
    if request.content_type == "application/json":
        with contextlib.suppress(ValueError):
            recorded.json = await request.json()
    return recorded
