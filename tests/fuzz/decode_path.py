"""The decode → check → thumbnail path as one function, and the seeds fuzzers mutate.

`run_decode_path(data)` does what a byte string meets on its way through photobus:
ingest sniffs its first bytes and probes its header (`sniff_image_type`,
`probe_image`), then the thumbnailer decodes it into renditions (`make_renditions`).
Its only documented outcomes are a result, a refusal from the sniff, a ProbeError
or an ImagingError with a reason code from their lists. Anything else — another
exception, an unknown reason — is a bug the fuzzers report.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from photobus_ingest.probe import ProbeError, ProbeReason, probe_image
from photobus_ingest.sniff import SNIFF_BYTES, sniff_image_type
from photobus_thumbnailer.decoding import Reason as ImagingReason
from photobus_thumbnailer.imaging import ImagingError, make_renditions
from PIL import Image

from tests.fuzz.hostile_files import CORPUS

PROBE_REASONS = frozenset(get_args(ProbeReason))
IMAGING_REASONS = frozenset(get_args(ImagingReason))
# Small, so no mutated header makes a fuzz run decode a big image in-process.
FUZZ_MAX_PIXELS = 4_000_000


@dataclass(frozen=True)
class Outcome:
    """What happened: `stage` is where the bytes stopped ("sniff", "probe", "render", "done")."""

    stage: str
    reason: str | None = None


def run_decode_path(data: bytes, *, max_pixels: int = FUZZ_MAX_PIXELS) -> Outcome:
    """Send `data` through sniff → probe → render; raise only on an undocumented outcome."""
    content_type = sniff_image_type(data[:SNIFF_BYTES])
    if content_type is None:
        return Outcome("sniff", "not_an_image")
    fd, name = tempfile.mkstemp(prefix="photobus-fuzz-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        probe_image(Path(name), content_type=content_type, max_pixels=max_pixels)
    except ProbeError as e:
        if e.reason not in PROBE_REASONS or not e.detail:
            raise AssertionError(f"undocumented probe outcome {e.reason!r}") from e
        return Outcome("probe", e.reason)
    finally:
        os.unlink(name)
    try:
        result = make_renditions(data, max_pixels=max_pixels)
    except ImagingError as e:
        if e.reason not in IMAGING_REASONS or not e.detail:
            raise AssertionError(f"undocumented imaging outcome {e.reason!r}") from e
        return Outcome("render", e.reason)
    if not result.renditions or any(r.data[:4] != b"RIFF" for r in result.renditions[1:]):
        raise AssertionError("a render without a WebP thumb")
    if result.renditions[0].data[:4] != b"RIFF" and result.renditions[0].data[:2] != b"\xff\xd8":
        raise AssertionError("a preview neither JPEG nor WebP")
    return Outcome("done")


def _pillow(fmt: str, size: tuple[int, int] = (40, 30), **params: object) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, (30, 120, 200))
    image.putpixel((3, 3), (250, 10, 10))
    image.save(out, fmt, **params)
    return out.getvalue()


def _rotated_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° on display
    return exif


def seeds(*, with_heic: bool = False) -> dict[str, bytes]:
    """Small valid files of every accepted format: the fuzzers' starting points."""
    found = {
        "jpeg-camera": (CORPUS / "camera" / "Canon_40D.jpg").read_bytes(),
        "jpeg-orientation": _pillow("JPEG", exif=_rotated_exif()),
        "png": _pillow("PNG"),
        "gif": _pillow("GIF"),
        "webp": _pillow("WEBP"),
        "tiff": _pillow("TIFF"),
        "tiff-deflate": _pillow("TIFF", compression="tiff_adobe_deflate"),
    }
    if with_heic:
        found["heic"] = (CORPUS / "heic" / "IMG_5195.HEIC").read_bytes()
    return found
