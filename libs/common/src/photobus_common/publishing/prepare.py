"""What is sent: a copy of the original that carries no location and that every
destination accepts. Blocking (Pillow): run `prepare` in a thread.

- JPEG: the original's pixels as they are (jpeg_location.py rewrites only the segments
  before the scan), with its EXIF minus the GPS IFD (orientation, camera and dates stay);
  XMP, IPTC and comments, which can hold a location too, are dropped. No pixel is
  decoded: ingest accepted the file and the thumbnailer decodes it; each of the three
  publishers decoding and re-encoding it again made them cost more CPU than the
  thumbnailer (a 12 MP photo: 114 ms, now under 2). Only when the segments cannot be
  rewritten is it decoded (a damaged file is a PermanentError) and re-encoded at q92.
- PNG: re-saved the same way. GIF: sent as it is (no EXIF; re-saving would lose frames).
- Everything else (HEIC/HEIF/AVIF that Imgur refuses, WebP, TIFF, BMP): JPEG.
- `strip_location=False`: the original bytes, unless the format must be converted.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from photobus_common.events import ItemOptions
from photobus_common.publishing.destination import PermanentError, PreparedPhoto
from photobus_common.publishing.jpeg_location import without_location

register_heif_opener()

JPEG_QUALITY = 92
_GPS_IFD = 0x8825
# Formats sent as they are (after location stripping where they can carry one).
_KEPT = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif")}


def prepare(data: bytes, photo_id: str, options: ItemOptions) -> PreparedPhoto:
    """The bytes to publish for one original; `PermanentError` if it is not an image."""
    rewrite = options.strip_location
    image = _decoded(data, header_only=rewrite)
    with image:
        fmt = image.format or ""
        kept = _KEPT.get(fmt)
        body = _jpeg_without_location(image, data) if fmt == "JPEG" and rewrite else None
        if body is not None:
            content_type, extension = "image/jpeg", "jpg"
        elif kept is not None and (fmt == "GIF" or not options.strip_location):
            content_type, extension, body = *kept, data
        elif fmt == "PNG":
            content_type, extension, body = "image/png", "png", _save(image, "PNG")
        elif fmt == "JPEG" and rewrite:  # only the header was read above
            with _decoded(data, header_only=False) as full:
                content_type, extension, body = "image/jpeg", "jpg", _save(full, "JPEG")
        else:
            content_type, extension, body = "image/jpeg", "jpg", _save(image, "JPEG")
    return PreparedPhoto(
        photo_id=photo_id,
        data=body,
        content_type=content_type,
        extension=extension,
        title=options.title,
        description=options.description,
        tags=options.tags,
        album=options.album,
    )


def _decoded(data: bytes, *, header_only: bool) -> Image.Image:
    """The image, loaded (so damage shows now); a JPEG's header only when `header_only`."""
    try:
        image = Image.open(io.BytesIO(data))
        if not (header_only and image.format == "JPEG"):
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise PermanentError(f"not_an_image: the original cannot be decoded ({e})") from e
    return image


def _jpeg_without_location(image: Image.Image, data: bytes) -> bytes | None:
    exif = image.getexif()
    exif.pop(_GPS_IFD, None)
    try:
        return without_location(data, exif.tobytes() if exif else b"")
    except ValueError:
        return None  # re-encoded instead


def _save(image: Image.Image, fmt: str) -> bytes:
    exif = image.getexif()
    exif.pop(_GPS_IFD, None)
    icc = image.info.get("icc_profile")
    if fmt == "JPEG":
        image = _jpeg_compatible(image)
    out = io.BytesIO()
    extra: dict[str, object] = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    if icc:
        extra["icc_profile"] = icc
    image.save(out, fmt, exif=exif, **extra)
    return out.getvalue()


def _jpeg_compatible(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "L", "CMYK"):
        return image
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return ImageOps.grayscale(image) if image.mode.startswith("I") else image.convert("RGB")
