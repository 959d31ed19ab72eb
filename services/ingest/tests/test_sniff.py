from __future__ import annotations

from pathlib import Path

import pytest
from photobus_ingest.sniff import ALLOWED, SNIFF_BYTES, sniff_image_type

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08meta"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF87a\x01\x00\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
        (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (ftyp(b"heix", b"mif1"), "image/heic"),
        (ftyp(b"hevc", b"msf1"), "image/heic"),
        (ftyp(b"mif1", b"heic"), "image/heic"),
        (ftyp(b"mif1", b"miaf", b"MiHB"), "image/heif"),
        (ftyp(b"msf1", b"iso8"), "image/heif"),
        (ftyp(b"avif", b"mif1", b"miaf"), "image/avif"),
        (ftyp(b"mif1", b"avif"), "image/avif"),
        (ftyp(b"avis", b"msf1"), "image/avif"),
        # look-alikes and formats we refuse
        (ftyp(b"isom", b"iso2", b"mp41"), None),  # MP4 video
        (ftyp(b"qt  "), None),  # QuickTime
        (b"\x00\x00\x00\x0cftypheic", None),  # box too short to hold a minor version
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"8BPS\x00\x01", None),  # Photoshop
        (b"%PDF-1.7\n", None),
        (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"%!PS-Adobe-3.0 EPSF-3.0", None),
        (b"\xc5\xd0\xd3\xc6", None),  # binary EPS
        (b"\x00\x00\x01\x00\x01\x00", None),  # ICO
        (b"BM\x36\x00\x00\x00", None),
        (b"PK\x03\x04", None),
        (b"hello, world", None),
        (b"", None),
        (b"\xff\xd8", None),  # too short to be JPEG
        (b"GIF90a", None),
    ],
)
def test_sniff_table(head: bytes, expected: str | None) -> None:
    assert sniff_image_type(head[:SNIFF_BYTES]) == expected


def test_every_answer_is_allowed() -> None:
    assert {"image/jpeg", "image/heic", "image/avif"} <= ALLOWED


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.suffix.lower() in {".jpg", ".heic"})


def test_corpus_is_there() -> None:
    assert len(corpus_files()) >= 20


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_corpus_files(path: Path) -> None:
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
    expected = "image/heic" if path.suffix.lower() == ".heic" else "image/jpeg"
    assert sniff_image_type(head) == expected


def test_non_image_corpus_file() -> None:
    assert sniff_image_type((CORPUS / "README.md").read_bytes()[:SNIFF_BYTES]) is None
