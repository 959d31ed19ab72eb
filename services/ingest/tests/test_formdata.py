"""The streamed multipart/form-data reader, on bodies arriving in every possible split."""

from __future__ import annotations

import random

import pytest
from photobus_ingest.formdata import FormReader, MalformedForm, PartHead, form_boundary

BOUNDARY = b"xYzZy-boundary"


class Pieces:
    """A request body arriving in the given pieces (what `readchunk` hands out)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = [p for p in pieces if p]
        self.reads = 0

    async def readchunk(self) -> tuple[bytes, bool]:
        self.reads += 1
        if not self._pieces:
            return b"", False
        return self._pieces.pop(0), False


def _part(disposition: str, data: bytes, *, extra: str = "") -> bytes:
    head = f"--{BOUNDARY.decode()}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n"
    return head.encode() + data + b"\r\n"


# The file holds near-misses of the delimiter: its start, and the boundary without CRLF.
FILE = (
    b"\xff\xd8\xff" + b"\r\n--xYzZy-bound" + bytes(range(256)) * 3 + b"--xYzZy-boundary" + b"\r\n"
)
BODY = (
    b"a preamble to ignore\r\n"
    + _part('form-data; name="title"', b"Sea at dusk")
    + _part('form-data; name="file"; filename="a.jpg"', FILE, extra="Content-Type: image/jpeg\r\n")
    + _part('form-data; name="tags"', b"")
    + f"--{BOUNDARY.decode()}--\r\nan epilogue to ignore".encode()
)
EXPECTED = [("title", None, b"Sea at dusk"), ("file", "a.jpg", FILE), ("tags", None, b"")]


async def _read(pieces: list[bytes]) -> list[tuple[str | None, str | None, bytes]]:
    form = FormReader(Pieces(pieces), BOUNDARY, on_read=lambda: None)
    parts = []
    while (head := await form.next_part()) is not None:
        body = b"".join([bytes(piece) async for piece in form.body()])
        parts.append((head.name, head.filename, body))
    return parts


async def test_a_body_in_one_piece() -> None:
    assert await _read([BODY]) == EXPECTED


async def test_a_body_split_anywhere_in_two() -> None:
    for cut in range(len(BODY) + 1):
        assert await _read([BODY[:cut], BODY[cut:]]) == EXPECTED, cut


@pytest.mark.parametrize("seed", range(20))
async def test_a_body_in_random_pieces(seed: int) -> None:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(BODY)), rng.randint(2, 60)))
    pieces = [BODY[a:b] for a, b in zip([0, *cuts], [*cuts, len(BODY)], strict=True)]
    assert await _read(pieces) == EXPECTED


async def test_a_body_one_byte_at_a_time() -> None:
    assert await _read([bytes([b]) for b in BODY]) == EXPECTED


async def test_a_large_body_is_handed_on_in_the_pieces_it_came_in() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    body = _part('form-data; name="file"; filename="big"', data) + b"--xYzZy-boundary--"
    pieces = [body[i : i + 256_000] for i in range(0, len(body), 256_000)]
    form = FormReader(Pieces(pieces), BOUNDARY, on_read=lambda: None)
    assert await form.next_part() is not None
    handed = [bytes(piece) async for piece in form.body()]
    assert b"".join(handed) == data
    assert len(handed) <= 2 * len(pieces)  # each read, and at most the few bytes held back
    assert await form.next_part() is None


async def test_an_unread_body_is_skipped() -> None:
    form = FormReader(Pieces([BODY]), BOUNDARY, on_read=lambda: None)
    names = []
    while (head := await form.next_part()) is not None:
        names.append(head.name)
    assert names == ["title", "file", "tags"]


async def test_every_read_is_reported() -> None:
    reads = 0

    def count() -> None:
        nonlocal reads
        reads += 1

    pieces = [BODY[i : i + 10] for i in range(0, len(BODY), 10)]
    form = FormReader(Pieces(pieces), BOUNDARY, on_read=count)
    while await form.next_part() is not None:
        pass
    assert reads == len(pieces) + 1  # and the read that found the end


async def test_whitespace_after_a_boundary_and_a_part_without_headers() -> None:
    body = b"--xYzZy-boundary  \t\r\n\r\nbare\r\n--xYzZy-boundary--"
    form = FormReader(Pieces([body]), BOUNDARY, on_read=lambda: None)
    head = await form.next_part()
    assert head == PartHead(name=None, filename=None, content_type="text/plain", charset="utf-8")
    assert b"".join([bytes(p) async for p in form.body()]) == b"bare"


async def test_headers_folded_encoded_and_with_a_charset() -> None:
    body = (
        b"--xYzZy-boundary\r\n"
        b'Content-Disposition: form-data; name="file";\r\n'
        b" filename*=UTF-8''%C3%A9t%C3%A9.heic\r\n"
        b"content-type: text/plain; charset=latin-1\r\n\r\n"
        b"x\r\n--xYzZy-boundary--\r\n"
    )
    form = FormReader(Pieces([body]), BOUNDARY, on_read=lambda: None)
    head = await form.next_part()
    assert head == PartHead(
        name="file", filename="été.heic", content_type="text/plain", charset="latin-1"
    )


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"", "ends inside a part", id="empty"),
        pytest.param(b"no boundary at all", "ends inside a part", id="no-boundary"),
        pytest.param(_part('form-data; name="a"', b"x"), "ends inside a part", id="no-closing-boundary"),
        pytest.param(b"--xYzZy-boundary", "ends right after a boundary", id="ends-at-boundary"),
        pytest.param(b"--xYzZy-boundaryX\r\n\r\nx", "other text on its line", id="longer-boundary"),
        pytest.param(b"--xYzZy-boundary\r\nno colon here\r\n\r\nx", "not `Name: value`", id="bad-header"),
        pytest.param(b"--xYzZy-boundary\r\nA: " + b"b" * 70_000, "headers is over", id="huge-headers"),
        pytest.param(b"--xYzZy-boundary\r\nA: b\r\n", "ends inside a part's headers", id="cut-headers"),
    ],
)  # fmt: skip
async def test_malformed_bodies_are_refused(body: bytes, says: str) -> None:
    with pytest.raises(MalformedForm, match=says):
        await _read([body[i : i + 1000] for i in range(0, len(body), 1000)])


def test_boundaries_from_the_content_type() -> None:
    assert form_boundary("multipart/form-data; boundary=abc") == b"abc"
    assert form_boundary('multipart/form-data; boundary="a b:c"') == b"a b:c"
    with pytest.raises(MalformedForm, match="no boundary"):
        form_boundary("multipart/form-data")
    with pytest.raises(MalformedForm, match="over 70"):
        form_boundary("multipart/form-data; boundary=" + "x" * 71)
