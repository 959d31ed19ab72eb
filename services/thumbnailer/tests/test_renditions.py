"""Renditions of real photos: upright, the right sizes, a bare JPEG preview and WebP thumb."""

from __future__ import annotations

import io
import pickle

import pytest
from photobus_thumbnailer.imaging import RENDITIONS, ImagingResult, make_renditions
from PIL import Image, ImageChops, ImageStat

from services.thumbnailer.tests.support import CORPUS, carried_metadata, corpus, decode

ORIENTATIONS = range(9)  # 0 is "no orientation", read as upright like 1
WRONG_TURNS = (
    Image.Transpose.FLIP_LEFT_RIGHT,
    Image.Transpose.FLIP_TOP_BOTTOM,
    Image.Transpose.ROTATE_180,
)
PHOTOS = sorted(
    str(p.relative_to(CORPUS))
    for folder in ("camera", "gps", "orientation", "heic")
    for p in (CORPUS / folder).iterdir()
    if p.suffix.lower() in (".jpg", ".heic")
)


def fingerprint(im: Image.Image) -> Image.Image:
    """A tiny grayscale version, enough to tell which way up a picture is."""
    size = (24, 16) if im.width > im.height else (16, 24)
    return im.convert("L").resize(size, Image.Resampling.BOX)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size
    return float(ImageStat.Stat(ImageChops.difference(a, b)).mean[0])


@pytest.fixture(scope="module")
def rendered() -> dict[str, ImagingResult]:
    return {name: make_renditions(corpus(name)) for name in PHOTOS}


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_every_exif_orientation_comes_out_upright(
    rendered: dict[str, ImagingResult], kind: str, orientation: int
) -> None:
    with Image.open(CORPUS / "orientation" / f"{kind}_1.jpg") as upright_file:
        upright = fingerprint(upright_file)
    result = rendered[f"orientation/{kind}_{orientation}.jpg"]

    for rendition in result.renditions:
        seen = fingerprint(decode(rendition.data))
        assert seen.size == upright.size, f"{rendition.name} is turned sideways"
        assert mean_difference(seen, upright) < 5, rendition.name
        # The check can see a wrong transpose: every one of these is far off.
        for turn in WRONG_TURNS:
            assert mean_difference(seen, upright.transpose(turn)) > 20, (rendition.name, turn)
    assert result.metadata.orientation == max(orientation, 1)
    assert (result.metadata.width > result.metadata.height) == (kind == "Landscape")


@pytest.mark.parametrize("name", PHOTOS)
def test_renditions_are_bare_and_no_larger_than_their_size(
    rendered: dict[str, ImagingResult], name: str
) -> None:
    result = rendered[name]
    assert [r.name for r in result.renditions] == list(RENDITIONS)
    meta = result.metadata
    for rendition, spec in zip(result.renditions, RENDITIONS.values(), strict=True):
        # Photos are opaque: the preview is a JPEG, the thumb a WebP.
        assert rendition.format == spec.format.lower()
        assert rendition.mime == f"image/{spec.format.lower()}"
        assert carried_metadata(rendition.data) == set()
        with Image.open(io.BytesIO(rendition.data)) as opened:
            assert opened.format == spec.format
        image = decode(rendition.data)
        assert image.size == (rendition.width, rendition.height)
        assert max(image.size) == min(spec.long_edge, max(meta.width, meta.height))
        # Same shape as the upright original, within rounding.
        assert abs(image.width / image.height - meta.width / meta.height) < 0.02
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment"} & image.info.keys()


def test_a_comment_in_the_original_is_not_copied() -> None:
    out = io.BytesIO()
    Image.new("RGB", (2000, 1500), "teal").save(
        out, "JPEG", comment=b"taken at 12 Elm Street", quality=90
    )
    for rendition in make_renditions(out.getvalue()).renditions:
        assert b"Elm Street" not in rendition.data
        assert carried_metadata(rendition.data) == set()


def test_small_photos_are_never_upscaled(rendered: dict[str, ImagingResult]) -> None:
    result = rendered["camera/Canon_40D.jpg"]  # 100x68
    assert [(r.width, r.height) for r in result.renditions] == [(100, 68), (100, 68)]


@pytest.mark.parametrize("name", ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg"])
def test_location_is_reported_but_never_copied(
    rendered: dict[str, ImagingResult], name: str
) -> None:
    with Image.open(CORPUS / name) as original:
        assert original.getexif().get_ifd(0x8825)  # the original does carry GPS
    result = rendered[name]
    assert result.metadata.has_location
    for rendition in result.renditions:
        assert not decode(rendition.data).getexif().get_ifd(0x8825)


def test_heic_photo_makes_renditions(rendered: dict[str, ImagingResult]) -> None:
    result = rendered["heic/IMG_5195.HEIC"]
    assert (result.metadata.width, result.metadata.height) == (2566, 3313)
    assert [(r.width, r.height) for r in result.renditions] == [(1115, 1440), (198, 256)]
    assert result.metadata.camera_make == "Apple"
    assert result.metadata.has_location


def test_invalid_exif_still_gets_a_thumbnail() -> None:
    result = make_renditions(corpus("broken/image00971.jpg"))
    assert [(r.width, r.height) for r in result.renditions] == [(636, 227), (256, 91)]
    assert result.metadata.taken_at is None
    assert result.metadata.orientation == 1


def test_damaged_jpeg_gets_a_best_effort_thumbnail() -> None:
    # libjpeg decodes past the damage (a smeared band); a thumbnail beats an error here.
    result = make_renditions(corpus("broken/corrupted.jpg"))
    assert [(r.width, r.height) for r in result.renditions] == [(1440, 1080), (256, 192)]
    thumb = decode(result.renditions[1].data).convert("L")
    low, high = thumb.getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    assert high - low > 100  # a picture, not a blank


def test_first_frame_of_an_animation() -> None:
    frames = [Image.new("RGB", (300, 200), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    result = make_renditions(out.getvalue())

    assert "animation" not in carried_metadata(result.renditions[1].data)  # the WebP thumb
    red, green, blue = decode(result.renditions[0].data).convert("RGB").getpixel((150, 100))  # type: ignore[misc]
    assert red > 200 and green < 40 and blue < 40


def test_result_survives_a_process_boundary(rendered: dict[str, ImagingResult]) -> None:
    # The render pool returns results from worker processes by pickling them.
    result = rendered["gps/DSCN0010.jpg"]
    assert pickle.loads(pickle.dumps(result)) == result
