"""The resize step: OpenCV's interpolation where it is as good as Pillow's filter, Pillow elsewhere."""

from __future__ import annotations

import io

import numpy as np
import pytest
from photobus_thumbnailer.resampling import MAX_INTERPOLATION_RATIO, fit
from PIL import Image

from services.thumbnailer.tests.support import corpus


def camera_photo() -> Image.Image:
    """A real 2048x1536 camera photo: grass, bark and sky, fine detail that aliases."""
    im = Image.open(io.BytesIO(corpus("camera/Reconyx_HC500_Hyperfire.jpg")))
    return im.convert("RGB")


def as_served(image: Image.Image) -> Image.Image:
    """What a browser shows of a preview: the image after its JPEG q80 encode."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return Image.open(io.BytesIO(out.getvalue())).convert(image.mode)


def psnr(image: Image.Image, reference: Image.Image) -> float:
    a = np.asarray(as_served(image), dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


@pytest.mark.parametrize("long_edge", [1900, 1600, 1440, 1370])  # ratios 1.08-1.49
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_interpolated_previews_are_as_close_to_lanczos_as_pillows_triangle_filter(
    long_edge: int, mode: str
) -> None:
    photo = camera_photo().convert(mode)
    size = (long_edge, round(long_edge * photo.height / photo.width))
    assert photo.width / size[0] <= MAX_INTERPOLATION_RATIO
    reference = photo.resize(size, Image.Resampling.LANCZOS)

    fitted = fit(photo, size)

    assert (fitted.mode, fitted.size) == (mode, size)
    pillow = photo.resize(size, Image.Resampling.BILINEAR)
    assert psnr(fitted, reference) > psnr(pillow, reference) - 0.25
    assert psnr(fitted, reference) > 34  # about 36 dB after the q80 encode here


def test_past_the_interpolation_ratio_pillows_filter_sees_every_pixel() -> None:
    photo = camera_photo()
    size = (1200, 900)  # 1.71x: two-tap interpolation would skip source pixels
    assert photo.width / size[0] > MAX_INTERPOLATION_RATIO
    assert fit(photo, size).tobytes() == photo.resize(size, Image.Resampling.BILINEAR).tobytes()


def test_transparent_pixels_do_not_bleed_their_hidden_colour_into_the_edge() -> None:
    # Left half opaque blue, right half fully transparent but red underneath: resizing
    # without premultiplying alpha would tint the edge purple.
    photo = Image.new("RGBA", (1000, 500), (0, 0, 255, 255))
    photo.paste((255, 0, 0, 0), (500, 0, 1000, 500))

    fitted = fit(photo, (900, 450))

    assert fitted.mode == "RGBA"
    for x in range(440, 460):
        red, _, blue, alpha = fitted.getpixel((x, 200))  # type: ignore[misc]
        if alpha > 0:
            assert red == 0 and blue == 255, (x, fitted.getpixel((x, 200)))


def test_an_image_already_at_size_is_returned_as_it_is() -> None:
    photo = Image.new("RGB", (64, 48))
    assert fit(photo, (64, 48)) is photo
