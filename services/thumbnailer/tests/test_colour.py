"""Colour kept across profiles and pixel modes: every rendition is plain sRGB."""

from __future__ import annotations

import io

import pytest
from photobus_thumbnailer.imaging import make_renditions
from PIL import Image, ImageCms

from services.thumbnailer.tests.support import (
    adobe_rgb_like_icc,
    carried_metadata,
    decode,
    riff_chunks,
)

TOLERANCE = 6  # JPEG + WebP rounding on a flat colour


def encoded(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def centre(data: bytes) -> tuple[int, ...]:
    im = decode(data)
    pixel = im.getpixel((im.width // 2, im.height // 2))
    assert isinstance(pixel, tuple)
    return pixel


def close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= TOLERANCE for x, y in zip(a, b, strict=True))


def test_embedded_profile_is_converted_to_srgb() -> None:
    icc = adobe_rgb_like_icc()
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert ImageCms.getProfileDescription(profile).strip() == "Adobe RGB-like test profile"
    stored = (60, 170, 80)
    flat = Image.new("RGB", (600, 400), stored)
    srgb = ImageCms.profileToProfile(flat, profile, ImageCms.createProfile("sRGB"))
    assert srgb is not None
    expected = srgb.getpixel((0, 0))
    assert isinstance(expected, tuple)
    # The profile moves this colour a long way, so ignoring it could not pass.
    assert max(abs(a - b) for a, b in zip(expected, stored, strict=True)) > 40

    result = make_renditions(encoded(flat, "JPEG", quality=95, icc_profile=icc))

    for rendition in result.renditions:
        assert close(centre(rendition.data), expected), (centre(rendition.data), expected)
        assert carried_metadata(rendition.data) == set()  # converted, so no profile to carry


def test_untagged_and_unusable_profiles_leave_colours_alone() -> None:
    stored = (60, 170, 80)
    flat = Image.new("RGB", (600, 400), stored)
    for params in ({}, {"icc_profile": b"not an ICC profile at all"}):
        result = make_renditions(encoded(flat, "JPEG", quality=95, **params))
        assert close(centre(result.renditions[0].data), stored)


def test_cmyk_jpeg() -> None:
    cmyk = Image.new("CMYK", (600, 400), (0, 255, 255, 0))  # full magenta + yellow: red
    result = make_renditions(encoded(cmyk, "JPEG", quality=95))
    red, green, blue = centre(result.renditions[0].data)
    assert red > 230 and green < 30 and blue < 30


def test_transparency_is_kept() -> None:
    rgba = Image.new("RGBA", (600, 400), (20, 40, 200, 128))
    result = make_renditions(encoded(rgba, "PNG"))
    # JPEG has no alpha channel: a transparent photo's preview is a WebP too.
    assert [r.format for r in result.renditions] == ["webp", "webp"]
    for rendition in result.renditions:
        kinds = [fourcc for fourcc, _ in riff_chunks(rendition.data)]
        assert b"ALPH" in kinds
        assert close(centre(rendition.data), (20, 40, 200, 128))


def test_opaque_alpha_is_dropped() -> None:
    rgba = Image.new("RGBA", (600, 400), (20, 40, 200, 255))
    result = make_renditions(encoded(rgba, "PNG"))
    assert decode(result.renditions[0].data).mode == "RGB"


def gradient(mode: str) -> Image.Image:
    ramp = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((512, 256))
    if mode == "I;16":
        return ramp.convert("I").point(lambda v: v * 257).convert("I;16")
    if mode in ("I", "F"):
        return ramp.convert(mode).point(lambda v: v * 1000)  # values far beyond 8 bits
    if mode == "P":
        return ramp.convert("RGB").quantize(64)
    if mode == "PA":
        return ramp.convert("RGB").quantize(64).convert("PA")
    return ramp.convert(mode)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("1", "PNG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("P", "PNG"),
        ("P", "GIF"),
        ("I;16", "PNG"),
        ("I", "TIFF"),
        ("F", "TIFF"),
        ("RGB", "TIFF"),
        ("RGBA", "WEBP"),
        ("CMYK", "TIFF"),
        ("L", "JPEG"),
        ("RGB", "BMP"),
    ],
)
def test_pixel_modes(mode: str, fmt: str) -> None:
    source = gradient(mode)
    assert source.mode == mode
    result = make_renditions(encoded(source, fmt))
    preview = decode(result.renditions[0].data)
    assert preview.size == (512, 256)
    assert preview.mode in ("RGB", "RGBA")
    left, right = preview.convert("L").getpixel((8, 128)), preview.convert("L").getpixel((504, 128))
    assert isinstance(left, int) and isinstance(right, int)
    if mode != "1":  # a 1-bit ramp is dithered noise
        assert right - left > 150, (left, right)  # the ramp survived: not clipped flat
