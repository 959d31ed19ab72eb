"""The speed trick, pinned: a big JPEG is decoded by libjpeg at reduced scale, once."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from photobus_thumbnailer.imaging import RENDITION_SIZES, make_renditions
from PIL import Image, JpegImagePlugin

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
