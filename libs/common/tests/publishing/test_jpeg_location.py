"""Location stripped from JPEGs by rewriting segments: pixels identical, nothing located left."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photobus_common.events import ItemOptions
from photobus_common.publishing.jpeg_location import without_location
from photobus_common.publishing.prepare import prepare
from PIL import Image

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus"
GPS_IFD = 0x8825
XMP = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>Brussels</x:xmpmeta>"


def segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def with_extra_segments(data: bytes) -> bytes:
    """`data` with XMP, a comment and IPTC after SOI, as cameras and editors write them."""
    extra = (
        segment(0xE1, XMP)
        + segment(0xFE, b"shot in Brussels")
        + segment(0xED, b"Photoshop 3.0\x00")
    )
    return data[:2] + extra + data[2:]


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.tobytes()


@pytest.mark.parametrize("name", ["DSCN0010.jpg", "DSCN0012.jpg"])
def test_the_pixels_are_the_originals_and_the_location_is_gone(name: str) -> None:
    original = with_extra_segments((CORPUS / "gps" / name).read_bytes())

    sent = prepare(original, "p" * 64, ItemOptions()).data

    assert pixels(sent) == pixels(original)
    with Image.open(io.BytesIO(sent)) as image:
        exif = image.getexif()
        assert GPS_IFD not in exif
        assert exif.get(0x010F)  # camera make kept
    for located in (b"<x:xmpmeta", b"Brussels", b"Photoshop 3.0"):
        assert located not in sent


def test_orientation_and_icc_profile_stay() -> None:
    image = Image.new("RGB", (64, 48), (200, 120, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, icc_profile=b"fake-icc-profile")

    sent = prepare(out.getvalue(), "p" * 64, ItemOptions()).data

    with Image.open(io.BytesIO(sent)) as result:
        assert result.getexif().get(0x0112) == 6
        assert result.info.get("icc_profile") == b"fake-icc-profile"


def test_a_file_cut_before_its_image_data_is_refused() -> None:
    data = (CORPUS / "gps" / "DSCN0010.jpg").read_bytes()
    with pytest.raises(ValueError, match=r"past the end|ends"):
        without_location(data[:1000], b"")
    with pytest.raises(ValueError, match="not a JPEG"):
        without_location(b"GIF89a", b"")


def test_bytes_after_the_end_of_image_are_never_kept() -> None:
    """A JPEG with a ZIP appended (a polyglot) loses the ZIP, even if it holds 0xFFD9."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG", quality=90, progressive=True)
    jpeg = out.getvalue()
    polyglot = jpeg + b"PK\x03\x04" + b"\xff\xd9 zip payload \xff\xd9" * 4
    cleaned = without_location(polyglot, b"")
    assert b"PK\x03\x04" not in cleaned
    assert cleaned.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(cleaned)) as image:
        image.load()
        assert image.size == (64, 48)
