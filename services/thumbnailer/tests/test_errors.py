"""Bad input gets a clear ImagingError, decided before any pixel is decoded where possible."""

from __future__ import annotations

import io
import pickle
import random

import pytest
from photobus_thumbnailer.imaging import ImagingError, make_renditions
from PIL import Image, ImageFile

from services.thumbnailer.tests.support import corpus, png_header_only


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to decode pixels."""

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def reason_for(data: bytes, **kwargs: int) -> str:
    with pytest.raises(ImagingError) as caught:
        make_renditions(data, **kwargs)
    assert caught.value.detail  # always something to tell the user
    return caught.value.reason


@pytest.mark.usefixtures("no_decoding")
def test_header_claiming_a_bomb_is_refused_unread() -> None:
    # 30000x30000 = 900 MP: past Pillow's own hard limit, which must surface as ours.
    assert reason_for(png_header_only(30000, 30000)) == "too_many_pixels"


@pytest.mark.usefixtures("no_decoding")
def test_pixel_budget_is_checked_from_the_header() -> None:
    # 120 MP: over our 100 MP default, under Pillow's hard limit, so our check decides.
    assert reason_for(png_header_only(12000, 10000)) == "too_many_pixels"
    assert reason_for(corpus("gps/DSCN0010.jpg"), max_pixels=640 * 480 - 1) == "too_many_pixels"


def test_pillow_warning_limit_does_not_override_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pillow warns above MAX_IMAGE_PIXELS and fails above twice that. Warnings are errors
    # in this test run, so a leaked DecompressionBombWarning would fail the photo.
    photo = corpus("gps/DSCN0010.jpg")  # 640x480 = 307200 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)
    assert make_renditions(photo).metadata.width == 640
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)
    assert reason_for(photo) == "too_many_pixels"


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, world\n", random.Random(7).randbytes(50_000), b"%PDF-1.4\n" + b"x" * 100],
    ids=["empty", "text", "random", "pdf"],
)
def test_non_images(data: bytes) -> None:
    assert reason_for(data) == "not_an_image"


def test_image_formats_we_do_not_take() -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PPM")
    assert reason_for(out.getvalue()) == "unsupported_format"


@pytest.mark.parametrize("keep", [0.5, 0.05, 300 / 2_000_000])
def test_truncated_jpeg_is_reported_as_truncated(keep: float) -> None:
    # An incomplete upload: telling the user to send the whole file beats a half-grey thumbnail.
    photo = corpus("orientation/Landscape_1.jpg")
    assert reason_for(photo[: max(300, int(len(photo) * keep))]) == "truncated"


def test_truncated_png_is_reported_as_truncated() -> None:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 40).save(out, "PNG")
    assert reason_for(out.getvalue()[: out.tell() // 2]) == "truncated"


def test_damaged_png_data_is_a_decode_failure() -> None:
    out = io.BytesIO()
    Image.effect_noise((400, 300), 40).save(out, "PNG")
    data = bytearray(out.getvalue())
    start = data.index(b"IDAT") + 4 + 200
    data[start : start + 64] = bytes(64)  # break the zlib stream, keep the length
    assert reason_for(bytes(data)) == "decode_failed"


def test_imaging_error_survives_a_process_boundary() -> None:
    # The render pool hands errors back from worker processes by pickling them.
    error = pickle.loads(pickle.dumps(ImagingError("truncated", "the file ends early")))
    assert (error.reason, error.detail) == ("truncated", "the file ends early")
    assert str(error) == "truncated: the file ends early"


@pytest.mark.parametrize("keep", [5000, 100])
def test_cut_short_heic_is_a_decode_failure(keep: int) -> None:
    assert reason_for(corpus("heic/IMG_5195.HEIC")[:keep]) == "decode_failed"


def test_unexpected_decoder_failures_fail_the_photo_not_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: ImageFile.ImageFile) -> None:
        raise KeyError("a tag no decoder expected")

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken)
    assert reason_for(corpus("gps/DSCN0010.jpg")) == "decode_failed"


def test_running_out_of_memory_is_left_to_the_render_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def exhausted(self: ImageFile.ImageFile) -> None:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", exhausted)
    with pytest.raises(MemoryError):
        make_renditions(corpus("gps/DSCN0010.jpg"))
