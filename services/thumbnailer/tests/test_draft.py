"""The speed trick, pinned: a big JPEG is decoded by libjpeg at reduced scale, once."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from photobus_thumbnailer.imaging import RENDITION_SIZES, make_renditions
from PIL import Image, JpegImagePlugin

from services.thumbnailer.tests.support import decode

WIDTH, HEIGHT = 6000, 4000  # 24 MP


@dataclass
class DraftSpy:
    requests: list[tuple[int, int]] = field(default_factory=list)
    decoded_sizes: list[tuple[int, int]] = field(default_factory=list)


@pytest.fixture
def draft_spy(monkeypatch: pytest.MonkeyPatch) -> DraftSpy:
    spy = DraftSpy()
    real_draft = JpegImagePlugin.JpegImageFile.draft
    real_load = JpegImagePlugin.JpegImageFile.load

    def draft(
        self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> tuple[str, tuple[int, int, float, float]] | None:
        assert size is not None
        spy.requests.append(size)
        return real_draft(self, mode, size)

    def load(self: JpegImagePlugin.JpegImageFile) -> object:
        if self.tile:  # the real decode, not a later no-op call
            spy.decoded_sizes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", load)
    return spy


def big_jpeg(orientation: int) -> bytes:
    picture = Image.linear_gradient("L").resize((WIDTH, HEIGHT)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("orientation", [1, 6])
def test_big_jpeg_is_decoded_once_at_reduced_scale(draft_spy: DraftSpy, orientation: int) -> None:
    preview_edge = RENDITION_SIZES["preview"]

    result = make_renditions(big_jpeg(orientation))

    [requested] = draft_spy.requests
    assert max(requested) >= preview_edge
    [decoded] = draft_spy.decoded_sizes
    assert decoded[0] * decoded[1] <= WIDTH * HEIGHT / 16  # libjpeg scaled by 1/4 or more
    assert max(decoded) >= preview_edge  # and still covers the preview: no upscaling
    assert decoded[0] > decoded[1]  # requested in stored orientation, whatever the EXIF says
    preview = result.renditions[0]
    expected = (1440, 960) if orientation == 1 else (960, 1440)
    assert (preview.width, preview.height) == expected
    assert (result.metadata.width, result.metadata.height) == (
        (WIDTH, HEIGHT) if orientation == 1 else (HEIGHT, WIDTH)
    )


def test_multi_picture_jpeg_is_drafted_too(draft_spy: DraftSpy) -> None:
    # Cameras and phones write MPO: a JPEG with more pictures after the first.
    first = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    second = Image.new("RGB", (4000, 3000), "red")
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second])

    result = make_renditions(out.getvalue())

    [decoded] = draft_spy.decoded_sizes
    assert decoded == (2000, 1500)
    assert (result.renditions[0].width, result.renditions[0].height) == (1440, 1080)
    red, green, blue = decode(result.renditions[1].data).convert("RGB").getpixel((128, 96))  # type: ignore[misc]
    assert abs(red - green) < 10 and abs(green - blue) < 10  # the gray first picture, not red
