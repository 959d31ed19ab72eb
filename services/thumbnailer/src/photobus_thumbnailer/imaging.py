"""Gallery renditions and metadata of one photo: bytes in, WebP renditions out.

Pure functions: no broker, no settings, no files. The work is shaped for speed:
a JPEG is decoded once, by libjpeg at the smallest DCT scale that still covers
the preview (`Image.draft`), the preview is resized, colour-converted and turned
upright while small, and the thumbnail is made from the preview.
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

from photobus_thumbnailer.colour import resizable, to_srgb
from photobus_thumbnailer.metadata import PhotoMetadata, read_exif, read_metadata

__all__ = [
    "RENDITION_SIZES",
    "ImagingError",
    "ImagingResult",
    "PhotoMetadata",
    "Rendition",
    "make_renditions",
    "register_heif",
]

# Long edge in pixels, largest first: each rendition is made from the one before it.
RENDITION_SIZES: Final = {"preview": 1440, "thumb": 256}

# Chosen by measurement (bench/thumbnailer.py): method 0 encodes a 1440 px preview
# several times faster than the default 4 for a few percent more bytes.
WEBP_QUALITY: Final = 80
WEBP_METHOD: Final = 0

# Formats a photo may arrive in. Others (EPS, PDF, PSD, ...) are refused before
# decoding: some run external programs, none are photos people upload.
ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "HEIF", "AVIF", "TIFF", "GIF", "BMP")

# ISO-BMFF brands of HEIC, HEIF and AVIF files (the `ftyp` box at the start).
_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
)

# Bicubic, with a cheap box `reduce` first once the ratio passes 2 (as Image.thumbnail
# does): measured 25% faster than Lanczos for the preview, with no visible difference.
_RESAMPLE: Final = Image.Resampling.BICUBIC
_REDUCING_GAP: Final = 2.0

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
    preview_edge = RENDITION_SIZES["preview"]
    with _pillow_errors_as_imaging_errors(), _open(data) as im:
        _check_pixels(im.size, max_pixels)
        stored_size = im.size
        _draft(im, preview_edge)
        _load(im)
        metadata = read_metadata(read_exif(im), stored_size)
        icc_profile = im.info.get("icc_profile") or None
        preview = _fit(resizable(im), _target(stored_size, preview_edge, cap=im.size))
        if preview is im:
            preview = im.copy()  # `im` is closed on leaving this block
    # Only preview-sized images from here on: the decoded original is released.
    preview = to_srgb(preview, icc_profile)
    if metadata.orientation in _UPRIGHT:
        preview = preview.transpose(_UPRIGHT[metadata.orientation])
    upright_size = (metadata.width, metadata.height)
    renditions = []
    image = preview
    for name, long_edge in RENDITION_SIZES.items():  # largest first: each from the one before
        image = _fit(image, _target(upright_size, long_edge, cap=image.size))
        renditions.append(_encode(name, image))
    return ImagingResult(renditions=renditions, metadata=metadata)


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


def _target(size: tuple[int, int], long_edge: int, *, cap: tuple[int, int]) -> tuple[int, int]:
    """`size` fitted within `long_edge`, never larger than the pixels at hand (`cap`)."""
    width, height = size
    scale = min(1.0, long_edge / max(width, height))
    return (
        min(cap[0], max(1, round(width * scale))),
        min(cap[1], max(1, round(height * scale))),
    )


def _fit(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    if im.size == size:
        return im
    return im.resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)


def _encode(name: str, im: Image.Image) -> Rendition:
    out = io.BytesIO()
    # Explicit empty metadata: the renditions carry no EXIF, XMP or ICC (no location).
    im.save(
        out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exif=b"", xmp=b"", icc_profile=b""
    )
    return Rendition(
        name=name, data=out.getvalue(), width=im.width, height=im.height, format="webp"
    )
