"""Pixel dimensions and frame count from an image's header, before anything decodes.

A 50 KB file may claim 50000×50000 pixels; the decoder would then ask for gigabytes.
Pillow's `Image.open` reads only the header, so we can refuse such a file cheaply.
Call this off the event loop (it does file I/O).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import pillow_heif
from PIL import Image, UnidentifiedImageError

ProbeReason = Literal["not_an_image", "too_many_pixels", "too_many_frames", "truncated"]

# Only the decoder for the sniffed type may open the file: no format guessing.
_PILLOW_FORMATS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG",),
    "image/png": ("PNG",),
    "image/webp": ("WEBP",),
    "image/gif": ("GIF",),
    "image/tiff": ("TIFF",),
    "image/heic": ("HEIF",),
    "image/heif": ("HEIF",),
    "image/avif": ("AVIF",),
}


@dataclass(frozen=True)
class Probe:
    width: int
    height: int
    frames: int


class ProbeError(Exception):
    """The file cannot be accepted; `reason` is the photo.rejected reason code."""

    def __init__(self, reason: ProbeReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: ProbeReason = reason
        self.detail = detail


def probe_image(path: Path, *, content_type: str, max_pixels: int, max_frames: int = 1000) -> Probe:
    """Read the header of the image at `path` (of sniffed `content_type`) and check its size.

    Raises ProbeError: not_an_image, truncated, too_many_pixels (width*height above
    `max_pixels`, or above Pillow's own decompression-bomb limit) or too_many_frames
    (an animated GIF/WebP with more than `max_frames` frames).
    """
    formats = _PILLOW_FORMATS.get(content_type)
    if formats is None:
        raise ProbeError("not_an_image", f"{content_type} is not an image type photobus accepts")
    _register_openers()
    with path.open("rb") as fp:
        width, height, frames = _read_header(fp, formats, max_frames)
    if width <= 0 or height <= 0:
        raise ProbeError("not_an_image", f"the image claims a size of {width}×{height} pixels")
    if width * height > max_pixels:
        raise ProbeError(
            "too_many_pixels",
            f"the image is {width}×{height} pixels; photobus accepts at most {max_pixels:,} pixels",
        )
    if frames > max_frames:
        raise ProbeError(
            "too_many_frames",
            f"the animation has more than {max_frames} frames; photobus accepts at most {max_frames}",
        )
    return Probe(width=width, height=height, frames=frames)


def _read_header(fp: BinaryIO, formats: tuple[str, ...], max_frames: int) -> tuple[int, int, int]:
    try:
        with warnings.catch_warnings():
            # Not thread-safe before 3.14: probe_image's own max_pixels check does not rely on it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fp, formats=formats) as im:
                width, height = im.size
                if im.format == "GIF":
                    frames = count_gif_frames(fp, stop_after=max_frames + 1)
                elif im.format == "WEBP":
                    frames = getattr(im, "n_frames", 1)  # from the container, no decoding
                else:
                    frames = 1
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise ProbeError("too_many_pixels", f"the image is too large to decode safely: {e}") from e
    except UnidentifiedImageError as e:
        raise ProbeError("not_an_image", "the file's header is not a valid image header") from e
    except (EOFError, OSError) as e:
        raise ProbeError("truncated", f"the file ends before its image header does: {e}") from e
    except Exception as e:  # decoder plugins raise many kinds for corrupt headers
        raise ProbeError("not_an_image", f"the image header is damaged: {e}") from e
    return width, height, frames


def count_gif_frames(fp: BinaryIO, *, stop_after: int) -> int:
    """Count a GIF's image descriptors by walking its blocks, without decoding any pixels.

    Stops counting at `stop_after`, so a file of endless 1×1 frames costs little.
    """
    fp.seek(0)
    screen = fp.read(13)
    if len(screen) < 13 or screen[:3] != b"GIF":
        raise EOFError("the GIF header is incomplete")
    if screen[10] & 0x80:
        fp.seek(3 << ((screen[10] & 7) + 1), 1)  # global colour table
    frames = 0
    while frames < stop_after:
        block = fp.read(1)
        if block == b"!":  # extension: label, then data sub-blocks
            fp.read(1)
            _skip_sub_blocks(fp)
        elif block == b",":  # image descriptor
            descriptor = fp.read(9)
            if len(descriptor) < 9:
                raise EOFError("the GIF ends inside an image descriptor")
            if descriptor[8] & 0x80:
                fp.seek(3 << ((descriptor[8] & 7) + 1), 1)  # local colour table
            fp.read(1)  # LZW minimum code size
            _skip_sub_blocks(fp)
            frames += 1
        else:  # trailer ";", end of file, or trailing junk: decoders stop here too
            break
    return frames


def _skip_sub_blocks(fp: BinaryIO) -> None:
    while length := fp.read(1):
        if length[0] == 0:
            return
        fp.seek(length[0], 1)


@functools.cache
def _register_openers() -> None:
    pillow_heif.register_heif_opener()
