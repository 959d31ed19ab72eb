"""What a photo says about itself in EXIF: orientation, when, which camera, whether it has a location.

EXIF is written by thousands of firmwares and edited by as many tools; anything
unreadable here becomes "unknown" instead of failing the photo.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from PIL import Image

log = logging.getLogger(__name__)

ORIENTATION = 0x0112
MAKE = 0x010F
MODEL = 0x0110
DATETIME = 0x0132
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME = 0x9010
OFFSET_TIME_ORIGINAL = 0x9011
GPS_LATITUDE = 0x0002
GPS_LONGITUDE = 0x0004

_DATETIME_FORMATS = ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M")


@dataclass(frozen=True)
class PhotoMetadata:
    width: int  # of the upright photo, after applying `orientation`
    height: int
    taken_at: datetime | None  # naive (camera-local time) unless EXIF gives an offset
    camera_make: str | None
    camera_model: str | None
    orientation: int  # EXIF 1..8; 1 is upright
    has_location: bool


def read_exif(im: Image.Image) -> Image.Exif:
    """The image's EXIF, or an empty one when it is missing or cannot be parsed."""
    try:
        return im.getexif()
    except Exception as e:  # a bad EXIF block must not fail the photo
        log.debug("ignoring unreadable EXIF: %s", e)
        return Image.Exif()


def orientation_of(exif: Image.Exif) -> int:
    value = exif.get(ORIENTATION, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def read_metadata(exif: Image.Exif, stored_size: tuple[int, int]) -> PhotoMetadata:
    """Metadata for a photo whose pixels are stored as `stored_size` (before orientation)."""
    orientation = orientation_of(exif)
    width, height = stored_size
    if orientation >= 5:  # 5..8 turn the picture by a quarter
        width, height = height, width
    exif_ifd = _ifd(exif, EXIF_IFD)
    return PhotoMetadata(
        width=width,
        height=height,
        taken_at=_taken_at(exif, exif_ifd),
        camera_make=_text(exif.get(MAKE)),
        camera_model=_text(exif.get(MODEL)),
        orientation=orientation,
        has_location=_has_location(exif),
    )


def _ifd(exif: Image.Exif, tag: int) -> dict[int, object]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception as e:  # see read_exif
        log.debug("ignoring unreadable EXIF IFD %#x: %s", tag, e)
        return {}


def _has_location(exif: Image.Exif) -> bool:
    gps = _ifd(exif, GPS_IFD)
    return GPS_LATITUDE in gps or GPS_LONGITUDE in gps


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    return value.replace("\x00", " ").strip() or None


def _taken_at(exif: Image.Exif, exif_ifd: dict[int, object]) -> datetime | None:
    candidates = (
        (exif_ifd.get(DATETIME_ORIGINAL), exif_ifd.get(OFFSET_TIME_ORIGINAL)),
        (exif.get(DATETIME), exif_ifd.get(OFFSET_TIME)),
    )
    for value, offset in candidates:
        taken = _parse_datetime(_text(value))
        if taken is not None:
            tz = _parse_offset(_text(offset))
            return taken.replace(tzinfo=tz) if tz else taken
    return None


def _parse_datetime(text: str | None) -> datetime | None:
    if not text:
        return None
    for fmt in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text[:19], fmt)  # EXIF time is camera-local
        except ValueError:
            continue
    return None  # "0000:00:00 00:00:00", blanks, or firmware inventions


def _parse_offset(text: str | None) -> timezone | None:
    """EXIF offsets look like "+02:00" or "-05:30"."""
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
