"""What is sent: location-free re-encodes of the real corpus photos, HEIC as JPEG."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from photobus_common.events import ItemOptions
from photobus_common.publishing import PermanentError
from photobus_common.publishing.prepare import prepare
from PIL import Image

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "corpus"
GPS_IFD = 0x8825
ORIENTATION = 0x0112
OPTIONS = ItemOptions(title="t", description="d", tags=("a b", "c"), album="Trip")


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


@pytest.mark.parametrize("name", ["DSCN0010.jpg", "DSCN0012.jpg"])
def test_gps_photos_are_sent_without_location(name: str) -> None:
    original = (CORPUS / "gps" / name).read_bytes()
    assert exif_of(original).get_ifd(GPS_IFD)  # the corpus photo does carry a location

    photo = prepare(original, "p" * 64, OPTIONS)

    exif = exif_of(photo.data)
    assert GPS_IFD not in exif
    assert exif.get(0x010F) == exif_of(original).get(0x010F)  # camera make kept
    assert b"<x:xmpmeta" not in photo.data
    assert (photo.content_type, photo.extension) == ("image/jpeg", "jpg")
    assert (photo.title, photo.description, photo.tags, photo.album) == (
        "t",
        "d",
        ("a b", "c"),
        "Trip",
    )


def test_location_is_kept_when_the_upload_asked_for_it() -> None:
    original = (CORPUS / "gps" / "DSCN0010.jpg").read_bytes()
    photo = prepare(original, "p" * 64, OPTIONS.model_copy(update={"strip_location": False}))
    assert photo.data == original


def test_orientation_survives_the_re_encode() -> None:
    original = (CORPUS / "orientation" / "Landscape_6.jpg").read_bytes()
    photo = prepare(original, "p" * 64, OPTIONS)
    assert exif_of(photo.data).get(ORIENTATION) == 6


def test_heic_is_sent_as_jpeg_even_when_location_is_kept() -> None:
    original = (CORPUS / "heic" / "IMG_5195.HEIC").read_bytes()
    for options in (OPTIONS, OPTIONS.model_copy(update={"strip_location": False})):
        photo = prepare(original, "p" * 64, options)
        assert photo.content_type == "image/jpeg"
        assert photo.filename == f"{'p' * 64}.jpg"
        with Image.open(io.BytesIO(photo.data)) as image:
            assert image.format == "JPEG"


def test_transparent_png_stays_png() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 255, 128)).save(out, "PNG")
    photo = prepare(out.getvalue(), "p" * 64, OPTIONS)
    assert (photo.content_type, photo.extension) == ("image/png", "png")


def test_webp_becomes_jpeg_with_its_alpha_flattened() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (8, 8), (0, 0, 255, 128)).save(out, "WEBP")
    photo = prepare(out.getvalue(), "p" * 64, OPTIONS)
    with Image.open(io.BytesIO(photo.data)) as image:
        assert (image.format, image.mode) == ("JPEG", "RGB")


def test_a_truncated_file_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="not_an_image"):
        prepare((CORPUS / "broken" / "corrupted.jpg").read_bytes()[:200], "p" * 64, OPTIONS)
