"""Recognise image formats by their magic bytes, as the real services do (never by name)."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

_ISO_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"hevc": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
}


def sniff_content_type(data: bytes) -> str | None:
    """The MIME type of an image by its leading bytes, or None when it isn't one we know."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:2] == b"BM" and len(data) > 14:
        return "image/bmp"
    if data[4:8] == b"ftyp":
        return _ISO_BRANDS.get(data[8:12])
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data[:4] == b"\x00\x00\x01\x00":
        return "image/x-icon"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from the header (0, 0 when Pillow can't read the format)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decompression-bomb warnings: only the header is read
            with Image.open(io.BytesIO(data)) as image:
                return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return (0, 0)
