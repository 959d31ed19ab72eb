"""EXIF read from real cameras and from crafted files; bad EXIF never fails a photo."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from photobus_thumbnailer.imaging import make_renditions, register_heif
from photobus_thumbnailer.metadata import PhotoMetadata, read_exif, read_metadata
from PIL import Image

from services.thumbnailer.tests.support import CORPUS


def metadata_of(path: str) -> PhotoMetadata:
    register_heif()
    with Image.open(CORPUS / path) as im:
        return read_metadata(read_exif(im), im.size)


def crafted(exif: Image.Exif, size: tuple[int, int] = (40, 30)) -> PhotoMetadata:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, "JPEG", exif=exif.tobytes())
    with Image.open(out) as im:
        return read_metadata(read_exif(im), im.size)


@pytest.mark.parametrize(
    ("path", "make", "model", "taken_at"),
    [
        # taken_at is DateTimeOriginal, not DateTime (the later edit: 2008-07-31 for these).
        ("camera/Canon_40D.jpg", "Canon", "Canon EOS 40D", datetime(2008, 5, 30, 15, 56, 1)),
        # Pentax pads with spaces, as many firmwares do.
        (
            "camera/Pentax_K10D.jpg",
            "PENTAX Corporation",
            "PENTAX K10D",
            datetime(2008, 5, 4, 16, 47, 24),
        ),
        ("camera/Nikon_D70.jpg", "NIKON CORPORATION", "NIKON D70", datetime(2008, 3, 15, 9, 52, 1)),
        ("gps/DSCN0010.jpg", "NIKON", "COOLPIX P6000", datetime(2008, 10, 22, 16, 28, 39)),
        ("camera/Reconyx_HC500_Hyperfire.jpg", None, None, None),  # no EXIF at all
    ],
)
def test_real_cameras(
    path: str, make: str | None, model: str | None, taken_at: datetime | None
) -> None:
    meta = metadata_of(path)
    assert (meta.camera_make, meta.camera_model, meta.taken_at) == (make, model, taken_at)
    assert meta.orientation == 1


def test_location_needs_coordinates_not_just_a_gps_block() -> None:
    assert metadata_of("gps/DSCN0010.jpg").has_location
    assert metadata_of("camera/Kodak_CX7530.jpg").has_location
    # Canon writes a GPS IFD holding only GPSVersionID: no location.
    with Image.open(CORPUS / "camera/Canon_40D.jpg") as im:
        assert dict(im.getexif().get_ifd(0x8825)) == {0: b"\x02\x02\x00\x00"}
    assert not metadata_of("camera/Canon_40D.jpg").has_location


def test_heic_offset_time_makes_an_aware_datetime() -> None:
    meta = metadata_of("heic/IMG_5195.HEIC")
    assert meta.taken_at == datetime(2021, 4, 11, 15, 47, 53, tzinfo=timezone(timedelta(hours=-5)))


def test_offset_time_original_and_nul_padded_strings() -> None:
    exif = Image.Exif()
    exif[0x010F] = "ACME\x00\x00  "
    exif[0x0110] = "  Model 7\x00"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 12:30:00"
    exif.get_ifd(0x8769)[0x9011] = "+02:00"
    meta = crafted(exif)
    assert (meta.camera_make, meta.camera_model) == ("ACME", "Model 7")
    assert meta.taken_at == datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))


def test_falls_back_to_datetime_and_stays_naive() -> None:
    exif = Image.Exif()
    exif[0x0132] = "2019:12:31 23:59:58"
    assert crafted(exif).taken_at == datetime(2019, 12, 31, 23, 59, 58)


@pytest.mark.parametrize("value", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday", ""])
def test_unparseable_dates_are_unknown(value: str) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = value
    assert crafted(exif).taken_at is None


@pytest.mark.parametrize(("orientation", "expected"), [(6, 6), (8, 8), (3, 3), (0, 1), (9, 1)])
def test_orientation_and_upright_size(orientation: int, expected: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    meta = crafted(exif, size=(40, 30))
    assert meta.orientation == expected
    assert (meta.width, meta.height) == ((30, 40) if expected >= 5 else (40, 30))


def test_unreadable_exif_block_means_defaults() -> None:
    out = io.BytesIO()
    bad_exif = b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0garbage"
    Image.new("RGB", (40, 30)).save(out, "JPEG", exif=bad_exif)
    # Pillow warns when it meets this (warnings are errors in tests); photos must not fail.
    result = make_renditions(out.getvalue())
    assert result.metadata == PhotoMetadata(40, 30, None, None, None, 1, False)
    assert len(result.renditions) == 2
