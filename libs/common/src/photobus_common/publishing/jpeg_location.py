"""A JPEG without its location, pixels untouched: only the marker segments before the
scan are rewritten, so there is no decode, no re-encode and no generation loss.

Kept: the EXIF (given, already without its GPS IFD), JFIF, the ICC profile, Adobe's
colour-transform flag and every non-APP segment (tables, frame header). Dropped: XMP,
IPTC/Photoshop, comments and any other application segment — any of them may hold a
place name or coordinates, and a re-encode would not have carried them either.
"""

from __future__ import annotations

from typing import Final

_SOI: Final = b"\xff\xd8"
_SOS: Final = 0xDA
_EOI: Final = 0xD9
_APP1: Final = 0xE1
_COM: Final = 0xFE
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: no length
_EXIF_HEADER: Final = b"Exif\x00\x00"
# Application segments that say how to show the pixels and carry no location.
_KEPT_APP: Final = ((0xE0, b"JFIF\x00"), (0xE0, b"JFXX\x00"), (0xE2, b"ICC_PROFILE\x00"),
                    (0xEE, b"Adobe"))  # fmt: skip


def without_location(data: bytes, exif: bytes) -> bytes:
    """`data` with its EXIF segment replaced by `exif` (b"Exif\\0\\0" + TIFF, or b"" for
    none) and every other segment that could hold a location left out.

    Raises ValueError when the marker structure is not what a JPEG's must be.
    """
    if not data.startswith(_SOI):
        raise ValueError("not a JPEG")
    out = [_SOI]
    pos, exif_written = 2, False
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise ValueError(f"no marker at offset {pos}")
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= len(data):
            raise ValueError("the file ends inside a marker")
        marker = data[pos]
        pos += 1
        if marker == _SOS:
            # The scans as they are, up to the end-of-image marker and not a byte past it:
            # whatever trails a JPEG (a ZIP, say, making a polyglot) is never published.
            out.append(b"\xff\xda" + data[pos : _end_of_image(data, pos)])
            return b"".join(out)
        if marker == _EOI:
            raise ValueError("the file ends before its image data")
        if marker in _STANDALONE:
            out.append(bytes((0xFF, marker)))
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise ValueError(f"segment {marker:#x} at offset {pos} runs past the end")
        segment = bytes((0xFF, marker)) + data[pos : pos + length]
        payload = data[pos + 2 : pos + length]
        pos += length
        if marker == _APP1 and payload.startswith(_EXIF_HEADER):
            if exif and not exif_written:
                out.append(_segment(_APP1, exif))
                exif_written = True
        elif 0xE0 <= marker <= 0xEF or marker == _COM:
            if any(marker == m and payload.startswith(p) for m, p in _KEPT_APP):
                out.append(segment)
        else:
            out.append(segment)


def _end_of_image(data: bytes, pos: int) -> int:
    """The offset just past the EOI that ends the image whose first scan header is at `pos`.

    Walks the entropy-coded data (0xFF00 stuffing, RSTn, fill bytes) and the marker
    segments between progressive scans; a 0xFFD9 inside a following ZIP is never reached.
    """
    i = pos + _length_at(data, pos)
    while True:
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= len(data):
            raise ValueError("the image data has no end-of-image marker")
        marker = data[j + 1]
        if marker == 0xFF:  # a fill byte before a marker
            i = j + 1
        elif marker == 0x00 or 0xD0 <= marker <= 0xD7:  # stuffed 0xFF, restart marker
            i = j + 2
        elif marker == _EOI:
            return j + 2
        else:  # DHT, SOS, DQT, DRI … between scans
            i = j + 2 + _length_at(data, j + 2)


def _length_at(data: bytes, pos: int) -> int:
    length = int.from_bytes(data[pos : pos + 2], "big")
    if length < 2 or pos + length > len(data):
        raise ValueError(f"segment at offset {pos} runs past the end")
    return length


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("the EXIF does not fit in one segment")
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload
