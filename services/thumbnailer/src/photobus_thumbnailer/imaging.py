"""Gallery renditions and metadata of one photo: bytes in, a JPEG preview and a WebP thumb out.

Pure functions: no broker, no settings, no files. The work is shaped for speed:
a JPEG is decoded once, by libjpeg at the smallest DCT scale that still covers
the preview (`Image.draft`), the preview is resized, colour-converted and turned
upright while small, and the thumbnail is made from the preview.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

from PIL import Image

from photobus_thumbnailer.colour import resizable, to_srgb
from photobus_thumbnailer.decoding import ImagingError, decoded
from photobus_thumbnailer.metadata import PhotoMetadata, read_exif, read_metadata
from photobus_thumbnailer.resampling import fit

__all__ = [
    "RENDITIONS",
    "RENDITION_SIZES",
    "ImagingError",
    "ImagingResult",
    "PhotoMetadata",
    "Rendition",
    "RenditionSpec",
    "make_renditions",
    "register_heif",
]


@dataclass(frozen=True)
class RenditionSpec:
    long_edge: int  # pixels
    format: str  # Pillow's name; the file extension and MIME subtype are its lower case


# Largest first: each rendition is made from the one before it. Formats chosen by
# measurement (bench/thumbnailer.py, "encoders"): the 1440 px preview as JPEG q80
# costs 5 ms to encode against 30 ms as WebP at its fastest method (0), for about
# 1.7x the bytes; the thumb is small enough (1 ms) for WebP to pay for itself on a
# gallery page of fifty of them.
RENDITIONS: Final = {
    "preview": RenditionSpec(1440, "JPEG"),
    "thumb": RenditionSpec(256, "WEBP"),
}
RENDITION_SIZES: Final = {name: spec.long_edge for name, spec in RENDITIONS.items()}
JPEG_QUALITY: Final = 80
WEBP_QUALITY: Final = 80
WEBP_METHOD: Final = 0

# EXIF orientation -> the transpose that makes the stored pixels upright.
_UPRIGHT: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Rendition:
    name: str
    data: bytes
    width: int
    height: int
    format: str

    @property
    def mime(self) -> str:
        return f"image/{self.format}"


@dataclass(frozen=True)
class ImagingResult:
    renditions: list[Rendition]
    metadata: PhotoMetadata


_heif_registered = False


def register_heif() -> None:
    """Let Pillow open HEIC/HEIF photos. Idempotent; cheap after the first call."""
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def make_renditions(data: bytes, *, max_pixels: int = 100_000_000) -> ImagingResult:
    """Decode `data` once and return its renditions (largest first) and metadata.

    Raises ImagingError for anything that is not a photo we can decode within
    `max_pixels` (checked from the header, before any pixel is decoded).
    """
    register_heif()
    preview_edge = RENDITIONS["preview"].long_edge
    with decoded(data, max_pixels=max_pixels, long_edge=preview_edge) as original:
        im, stored_size = original.image, original.stored_size
        metadata = read_metadata(read_exif(im), stored_size)
        icc_profile = im.info.get("icc_profile") or None
        preview = fit(resizable(im), _target(stored_size, preview_edge, cap=im.size))
        if preview is im:
            preview = im.copy()  # `im` is closed on leaving this block
    # Only preview-sized images from here on: the decoded original is released.
    preview = to_srgb(preview, icc_profile)
    if metadata.orientation in _UPRIGHT:
        preview = preview.transpose(_UPRIGHT[metadata.orientation])
    upright_size = (metadata.width, metadata.height)
    renditions = []
    image = preview
    for name, spec in RENDITIONS.items():  # largest first: each from the one before
        image = fit(image, _target(upright_size, spec.long_edge, cap=image.size))
        renditions.append(_encode(name, spec.format, image))
    return ImagingResult(renditions=renditions, metadata=metadata)


def _target(size: tuple[int, int], long_edge: int, *, cap: tuple[int, int]) -> tuple[int, int]:
    """`size` fitted within `long_edge`, never larger than the pixels at hand (`cap`)."""
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return (
        min(cap[0], max(1, round(width * scale))),
        min(cap[1], max(1, round(height * scale))),
    )


def _encode(name: str, image_format: str, im: Image.Image) -> Rendition:
    if image_format == "JPEG" and im.mode not in ("RGB", "L"):
        image_format = "WEBP"  # JPEG has no alpha: a transparent photo keeps it as WebP
    out = io.BytesIO()
    # Explicit empty metadata: no EXIF, XMP, ICC or comment carried over from the
    # original's `info` (so no location); the pixels are already sRGB.
    bare = {"exif": b"", "xmp": b"", "icc_profile": b""}
    if image_format == "JPEG":
        im.save(out, "JPEG", quality=JPEG_QUALITY, comment=b"", **bare)
    else:
        im.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, **bare)
    ext = image_format.lower()
    return Rendition(name=name, data=out.getvalue(), width=im.width, height=im.height, format=ext)
