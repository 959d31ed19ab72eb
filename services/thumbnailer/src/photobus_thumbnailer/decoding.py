"""Bytes to decoded pixels, within a pixel budget, or an ImagingError that says why not.

Everything that touches untrusted bytes is here: which formats are opened at all,
the budget checked from the header before any pixel is decoded, libjpeg's
reduced-scale decoding, and the translation of Pillow's many failure modes.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

from PIL import Image, ImageFile, JpegImagePlugin, UnidentifiedImageError

# Formats a photo may arrive in. Others (EPS, PDF, PSD, ...) are refused before
# decoding: some run external programs, none are photos people upload.
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "TIFF", "GIF", "BMP")

# ISO-BMFF brands of HEIC, HEIF and AVIF files (the `ftyp` box at the start).
_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
)

Reason = Literal[
    "not_an_image", "truncated", "too_many_pixels", "unsupported_format", "decode_failed"
]


class ImagingError(Exception):
    """A photo that cannot be made into renditions; `detail` says why, for the user."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(reason, detail)  # both in args, so it pickles across processes
        self.reason: Reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


@dataclass(frozen=True)
class Decoded:
    image: ImageFile.ImageFile  # pixels loaded; a JPEG possibly at 1/2, 1/4 or 1/8 scale
    stored_size: tuple[int, int]  # full size as stored, before scaling and orientation


@contextmanager
def decoded(data: bytes, *, max_pixels: int, long_edge: int) -> Iterator[Decoded]:
    """Decode the first picture in `data`, at no less than `long_edge`; closed on exit.

    Failures inside the caller's `with` block (reading EXIF, the first resize) come
    from the same untrusted bytes and are reported the same way.
    """
    with _pillow_errors_as_imaging_errors(), _open(data) as im:
        _check_pixels(im.size, max_pixels)
        stored_size = im.size
        _draft(im, long_edge)
        _load(im)
        yield Decoded(im, stored_size)


@contextmanager
def _pillow_errors_as_imaging_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        # The pixel budget is ours (`max_pixels`), checked before decoding; Pillow's
        # own, lower, default limit would only warn about photos within it.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        # Pillow warns about damaged EXIF/MPO metadata and carries on; so do we.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
        try:
            yield
        except Image.DecompressionBombError as e:
            detail = f"the image has far too many pixels to decode ({e})"
            raise ImagingError("too_many_pixels", detail) from e
        except (ImagingError, MemoryError):
            raise  # MemoryError: the render pool reports it as too_many_pixels
        except Exception as e:
            # Decoders fed hostile bytes fail in ways nobody lists; it is still this
            # photo's fault, so a clear per-photo error, not a crash and a redelivery.
            detail = f"the image could not be decoded ({type(e).__name__}: {e})"
            raise ImagingError("decode_failed", detail) from e


@contextmanager
def _open(data: bytes) -> Iterator[ImageFile.ImageFile]:
    try:
        im = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        raise _unrecognised(data) from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as e:
        raise _damaged(e, "header") from e
    with im:
        yield im


def _unrecognised(data: bytes) -> ImagingError:
    """Tell "a format we do not take" from "not an image at all"."""
    try:
        with Image.open(io.BytesIO(data)) as other:  # reads the header only
            kind = other.format
    except Exception:  # any failure here means we do not know the format
        kind = None
    if kind:
        return ImagingError(
            "unsupported_format", f"{kind} images are not supported; upload a JPEG, PNG or HEIC"
        )
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        # libheif refuses a damaged or cut-short container without saying which.
        return ImagingError("decode_failed", "the HEIC/AVIF file is damaged or incomplete")
    return ImagingError("not_an_image", "the file is not an image in any format we know")


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImagingError(
            "too_many_pixels",
            f"{width}x{height} is {width * height / 1e6:.0f} megapixels; "
            f"the limit is {max_pixels / 1e6:.0f}",
        )


def _draft(im: Image.Image, long_edge: int) -> None:
    """Ask libjpeg to decode at 1/2, 1/4 or 1/8 scale when the result still covers `long_edge`.

    The request is in stored (not upright) pixels, so it is right for every EXIF
    orientation. Must run before anything loads the pixels; other formats ignore it.
    """
    if not isinstance(im, JpegImagePlugin.JpegImageFile):  # MPO (multi-picture JPEG) too
        return
    width, height = im.size
    scale = long_edge / max(width, height)
    if scale < 1:
        im.draft("RGB", (max(1, round(width * scale)), max(1, round(height * scale))))


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except OSError as e:
        if "not available" in str(e) or "unsupported" in str(e).lower():
            detail = f"this kind of {im.format} is not supported ({e})"
            raise ImagingError("unsupported_format", detail) from e
        raise _damaged(e, "data") from e
    except (SyntaxError, ValueError, struct.error, EOFError, IndexError, zlib.error) as e:
        raise _damaged(e, "data") from e


def _damaged(e: Exception, part: str) -> ImagingError:
    if "truncated" in str(e).lower() or isinstance(e, EOFError):
        return ImagingError(
            "truncated", "the file ends before the image does; upload the complete file"
        )
    return ImagingError("decode_failed", f"the image {part} is damaged ({e})")
