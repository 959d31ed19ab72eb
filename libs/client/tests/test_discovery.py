"""Which files `photobus upload` sends, refuses or ignores."""

from __future__ import annotations

from pathlib import Path

import pytest
from photobus_client.discovery import discover, looks_like_image
from photobus_client.hashing import sha256_file

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
JPEG_HEAD = b"\xff\xd8\xff\xe0" + b"\x00" * 20
PNG_HEAD = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folders_are_walked_recursively_in_a_stable_order(tmp_path: Path) -> None:
    b = write(tmp_path / "b.jpg", JPEG_HEAD)
    a = write(tmp_path / "sub" / "deeper" / "a.PNG", PNG_HEAD)
    found = discover([tmp_path])
    assert found.images == [b, a]
    assert found.total_bytes == len(JPEG_HEAD) + len(PNG_HEAD)
    assert found.refused == []


def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / ".hidden.jpg", JPEG_HEAD)
    write(tmp_path / ".thumbnails" / "x.jpg", JPEG_HEAD)
    shown = write(tmp_path / "shown.jpg", JPEG_HEAD)
    found = discover([tmp_path])
    assert found.images == [shown]
    assert found.ignored == []


def test_non_images_in_folders_are_ignored_but_impostors_refused(tmp_path: Path) -> None:
    notes = write(tmp_path / "notes.txt", b"hello")
    write(tmp_path / "fake.jpg", b"just text, not a JPEG")
    found = discover([tmp_path])
    assert found.images == []
    assert found.ignored == [notes]
    assert [(r.path.name, r.reason) for r in found.refused] == [("fake.jpg", "not_an_image")]


def test_a_file_named_directly_is_checked_whatever_its_extension(tmp_path: Path) -> None:
    jpeg_without_extension = write(tmp_path / "IMG_0001", JPEG_HEAD)
    text = write(tmp_path / "notes.txt", b"hello")
    found = discover([jpeg_without_extension, text, tmp_path / "missing.jpg"])
    assert found.images == [jpeg_without_extension]
    assert [(r.path.name, r.reason) for r in found.refused] == [
        ("notes.txt", "not_an_image"),
        ("missing.jpg", "not_found"),
    ]


def test_the_same_file_named_twice_is_sent_once(tmp_path: Path) -> None:
    photo = write(tmp_path / "a.jpg", JPEG_HEAD)
    assert discover([photo, tmp_path, photo]).images == [photo]


@pytest.mark.parametrize(
    "head",
    [
        JPEG_HEAD,
        PNG_HEAD,
        b"GIF89a" + b"\x00" * 10,
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"II*\x00" + b"\x00" * 10,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
        b"\x00\x00\x00\x18ftypavif\x00\x00\x00\x00",
    ],
)
def test_magic_numbers_of_accepted_formats(head: bytes) -> None:
    assert looks_like_image(head)


@pytest.mark.parametrize(
    "head", [b"", b"hello world", b"\x00\x00\x00\x18ftypisom\x00\x00", b"%PDF-1.7"]
)
def test_other_files_are_not_images(head: bytes) -> None:
    assert not looks_like_image(head)


def test_the_corpus_is_all_images_except_its_notes() -> None:
    found = discover([CORPUS])
    assert len(found.images) == 29
    assert sorted(p.name for p in found.ignored) == ["LICENSE", "README.md"]
    assert found.refused == []


def test_hashing_streams_the_file_and_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = bytes(range(256)) * 9000  # over one 1 MiB chunk
    path = write(tmp_path / "big.jpg", data)
    assert sha256_file(path) == (hashlib.sha256(data).hexdigest(), len(data))
