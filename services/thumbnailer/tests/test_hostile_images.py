"""Issue 6, item 4: hostile images in the thumbnailer, with memory bounded.

The pixel budget refuses bombs from their header; the render pool's address-space
limit (RLIMIT_AS in each worker) is the second wall, for a bomb that gets past the
budget: it must fail that photo with too_many_pixels, not take the machine's memory,
and leave the pool able to render the next photo.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from photobus_thumbnailer.imaging import ImagingError, make_renditions
from photobus_thumbnailer.pool import RenderPool
from PIL import Image, ImageFile

from tests.fuzz import hostile_files

# A worker with Pillow and libheif loaded fits in ~150 MB of address space; a 144 MP
# greyscale bomb needs 144 MB more for its pixels alone.
WORKER_MEMORY_MB = 200


@pytest.fixture(scope="module")
def unbudgeted_pool() -> Iterator[RenderPool]:
    """A pool whose pixel budget lets every bomb through: only the memory limit stands."""
    pool = RenderPool(1, max_pixels=10**10, memory_limit_mb=WORKER_MEMORY_MB)
    yield pool
    pool.close()


async def test_a_bomb_past_the_pixel_budget_fails_on_the_memory_limit(
    unbudgeted_pool: RenderPool,
) -> None:
    good = await unbudgeted_pool.render(hostile_files.good_jpeg())  # the pool works at this limit
    assert [r.format for r in good.renditions] == ["jpeg", "webp"]
    with pytest.raises(ImagingError) as caught:
        await unbudgeted_pool.render(hostile_files.png_zero_bomb())
    assert caught.value.reason == "too_many_pixels"
    assert "memory" in caught.value.detail
    again = await unbudgeted_pool.render(hostile_files.good_jpeg())  # the worker survived
    assert again.renditions[0].data == good.renditions[0].data


async def test_a_header_bomb_fails_under_the_memory_limit_without_decoding(
    unbudgeted_pool: RenderPool,
) -> None:
    with pytest.raises(ImagingError) as caught:
        await unbudgeted_pool.render(hostile_files.png_header_bomb())
    assert caught.value.reason in {"too_many_pixels", "truncated", "decode_failed"}


@pytest.mark.parametrize(
    ("builder", "reason"),
    [
        pytest.param(hostile_files.png_header_bomb, "too_many_pixels", id="header-50000x50000"),
        pytest.param(hostile_files.png_zero_bomb, "too_many_pixels", id="png-144-megapixels-of-zeros"),
    ],
)  # fmt: skip
def test_bombs_are_refused_by_the_pixel_budget_from_their_header(
    builder: Callable[[], bytes], reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = builder()
    decoded: list[object] = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(ImagingError) as caught:
        make_renditions(data, max_pixels=100_000_000)
    assert caught.value.reason == reason
    assert "pixels" in caught.value.detail
    assert decoded == []  # refused before a single pixel


def test_an_animated_gif_with_thousands_of_frames_renders_its_first_frame_only() -> None:
    result = make_renditions(hostile_files.gif_many_frames(5000))
    assert [(r.width, r.height) for r in result.renditions] == [(1, 1), (1, 1)]


THUMBNAILER_REFUSES = {
    kind: data
    for kind, data in hostile_files.outside_the_allow_list().items()
    if kind != "bmp"  # decodable here; ingest's allow-list refuses it before it arrives
}


@pytest.mark.parametrize("kind", list(THUMBNAILER_REFUSES))
def test_format_outside_the_allow_list_is_never_decoded(kind: str) -> None:
    with pytest.raises(ImagingError) as caught:
        make_renditions(THUMBNAILER_REFUSES[kind])
    assert caught.value.reason in {"unsupported_format", "not_an_image"}
    assert caught.value.detail


def test_a_jpeg_with_a_zip_appended_gives_renditions_without_the_zip() -> None:
    marker = b"PHOTOBUS-POLYGLOT-ZIP-MARKER"
    polyglot = hostile_files.jpeg_with_zip(marker)
    result = make_renditions(polyglot)
    for rendition in result.renditions:
        assert marker not in rendition.data
        assert b"PK\x03\x04" not in rendition.data
        assert b"<script>" not in rendition.data
        with Image.open(io.BytesIO(rendition.data)) as im:
            assert im.format == rendition.format.upper()
            im.load()
