"""Pixel modes and colour spaces: whatever a file decodes to, end in sRGB `RGB` or `RGBA`.

Work is split in two so the expensive part runs on the small image: `resizable`
turns exotic modes into one that resizes well while keeping the file's colour
space, and `to_srgb` applies the embedded ICC profile after resizing.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache

from PIL import Image, ImageCms

log = logging.getLogger(__name__)

# Modes that resize well and that an ICC profile can be applied to as they are.
_RESIZABLE = frozenset({"L", "LA", "RGB", "RGBA", "CMYK"})
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def resizable(im: Image.Image) -> Image.Image:
    """Return `im` in L, LA, RGB, RGBA or CMYK, in the colour space it was stored in."""
    mode = im.mode
    if mode in _RESIZABLE:
        return im
    if mode in ("P", "PA"):
        # Palette images resize with NEAREST only; expand them, keeping transparency.
        has_alpha = mode == "PA" or "transparency" in im.info
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode in ("La", "RGBa"):
        return im.convert("LA" if mode == "La" else "RGBA")
    if mode.startswith("I;16"):
        # 16-bit samples: keep the top 8 bits rather than clipping everything above 255.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode in ("I", "F"):
        return _stretch_to_l(im)
    if mode in ("LAB", "HSV", "YCbCr", "RGBX"):
        return im.convert("RGB")
    return im.convert("RGBA" if "A" in mode else "RGB")


def _stretch_to_l(im: Image.Image) -> Image.Image:
    """32-bit integer or float samples have no fixed range: map what is there onto 0..255."""
    low, high = im.getextrema()
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if high <= 255 and low >= 0:
        return im.convert("L")
    span = (high - low) or 1
    return im.point(lambda v: (v - low) * (255 / span)).convert("L")


def to_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Convert an image from `resizable` to sRGB `RGB`/`RGBA`, honouring its ICC profile.

    A profile that is missing or that lcms cannot use is ignored: colours may be off,
    but the photo still gets its renditions. An `RGB` image without a profile is
    returned as it is, not copied.
    """
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    colour = im.convert("L") if im.mode == "LA" else im
    colour = colour.convert("RGB") if colour.mode == "RGBA" else colour
    transform = _transform_to_srgb(icc_profile, colour.mode) if icc_profile else None
    if transform is not None:
        rgb = ImageCms.applyTransform(colour, transform)
        assert rgb is not None
    elif colour.mode == "RGB":
        rgb = colour  # already what we want: convert() would only copy it
    else:
        rgb = colour.convert("RGB")
    if alpha is not None and alpha.getextrema() != (255, 255):
        rgb.putalpha(alpha)
    return rgb


@lru_cache(maxsize=16)
def _transform_to_srgb(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    # Building a transform costs milliseconds; camera profiles repeat, so keep a few.
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(
            source, _SRGB, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
        log.debug("ignoring an unusable ICC profile: %s", e)
        return None
