from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from photobus_ingest.probe import Probe, ProbeError, count_gif_frames, probe_image
from PIL import Image

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"
MANY = 10**12  # a pixel limit that only Pillow's own bomb check can hit


def png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height (valid CRCs) with a tiny, meaningless body."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def gif_of_1x1_frames(frames: int) -> bytes:
    """An animated GIF of `frames` 1×1 frames, a few bytes each."""
    header = b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x21\xf9\x04\x00\x01\x00\x00\x00" + b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1)
    frame += b"\x00\x02\x02\x44\x01\x00"
    return header + frame * frames + b"\x3b"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def saved(tmp_path: Path, name: str, frames: list[Image.Image], **params: Any) -> Path:
    path = tmp_path / name
    frames[0].save(path, save_all=len(frames) > 1, append_images=frames[1:], **params)
    return path


def colours(n: int, size: tuple[int, int] = (8, 6)) -> list[Image.Image]:
    return [Image.new("RGB", size, (i * 40 % 256, 255 - i * 40 % 256, 0)) for i in range(n)]


def test_iphone_heic() -> None:
    probe = probe_image(
        CORPUS / "heic" / "IMG_5195.HEIC", content_type="image/heic", max_pixels=MANY
    )
    assert probe == Probe(width=2566, height=3313, frames=1)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("camera/Canon_40D.jpg", (100, 68)),
        ("orientation/Portrait_6.jpg", (1800, 1200)),  # stored size, before EXIF rotation
        ("broken/corrupted.jpg", (3648, 2736)),  # pixels are damaged, the header is not
    ],
)
def test_corpus_jpegs(name: str, size: tuple[int, int]) -> None:
    probe = probe_image(CORPUS / name, content_type="image/jpeg", max_pixels=MANY)
    assert (probe.width, probe.height, probe.frames) == (*size, 1)


def test_every_corpus_jpeg_probes() -> None:
    paths = sorted(CORPUS.rglob("*.jpg"))
    assert len(paths) >= 20
    for path in paths:
        assert probe_image(path, content_type="image/jpeg", max_pixels=MANY).width > 0


@pytest.mark.parametrize(
    ("fmt", "content_type", "params"),
    [
        ("PNG", "image/png", {}),
        ("TIFF", "image/tiff", {}),
        ("WEBP", "image/webp", {}),
        ("AVIF", "image/avif", {"quality": 30, "speed": 10}),
    ],
)
def test_still_formats(tmp_path: Path, fmt: str, content_type: str, params: dict[str, Any]) -> None:
    path = saved(tmp_path, f"still.{fmt.lower()}", colours(1), format=fmt, **params)
    assert probe_image(path, content_type=content_type, max_pixels=MANY) == Probe(8, 6, 1)


def test_pixel_limit_is_ours(tmp_path: Path) -> None:
    path = saved(tmp_path, "big.png", [Image.new("L", (2000, 1000))])
    assert probe_image(path, content_type="image/png", max_pixels=2_000_000).width == 2000
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/png", max_pixels=1_999_999)
    assert caught.value.reason == "too_many_pixels"
    assert "2000×1000" in caught.value.detail


@pytest.mark.parametrize("side", [30_000, 50_000])
def test_header_claiming_huge_dimensions(tmp_path: Path, side: int) -> None:
    path = write(tmp_path, "bomb.png", png_header(side, side))
    assert path.stat().st_size < 200
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/png", max_pixels=50_000_000)
    assert caught.value.reason == "too_many_pixels"


@pytest.mark.parametrize("side", [10_000, 30_000])
def test_pillow_bomb_warning_and_error_become_too_many_pixels(tmp_path: Path, side: int) -> None:
    # 10000² trips Pillow's DecompressionBombWarning, 30000² its DecompressionBombError.
    path = write(tmp_path, "bomb.png", png_header(side, side))
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/png", max_pixels=MANY)
    assert caught.value.reason == "too_many_pixels"


def test_garbage_is_not_an_image(tmp_path: Path) -> None:
    path = write(tmp_path, "garbage.bin", b"\x89PNG\r\n\x1a\n" + b"garbage " * 100)
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/png", max_pixels=MANY)
    assert caught.value.reason == "not_an_image"


def test_bytes_of_another_format_are_not_an_image() -> None:
    with pytest.raises(ProbeError) as caught:
        probe_image(CORPUS / "camera" / "Canon_40D.jpg", content_type="image/png", max_pixels=MANY)
    assert caught.value.reason == "not_an_image"


def test_unaccepted_content_type(tmp_path: Path) -> None:
    path = write(tmp_path, "x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/svg+xml", max_pixels=MANY)
    assert caught.value.reason == "not_an_image"


def test_truncated_jpeg_header(tmp_path: Path) -> None:
    path = write(tmp_path, "cut.jpg", (CORPUS / "camera" / "Canon_40D.jpg").read_bytes()[:100])
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/jpeg", max_pixels=MANY)
    assert caught.value.reason == "truncated"


def test_gif_frames_are_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "anim.gif", gif_of_1x1_frames(7))
    assert probe_image(path, content_type="image/gif", max_pixels=MANY) == Probe(1, 1, 7)


def test_gif_with_too_many_frames(tmp_path: Path) -> None:
    path = write(tmp_path, "many.gif", gif_of_1x1_frames(2000))
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/gif", max_pixels=MANY, max_frames=1000)
    assert caught.value.reason == "too_many_frames"
    assert (
        probe_image(path, content_type="image/gif", max_pixels=MANY, max_frames=2000).frames == 2000
    )


def test_gif_frame_walk_stops_early() -> None:
    assert count_gif_frames(io.BytesIO(gif_of_1x1_frames(2000)), stop_after=11) == 11


def test_gif_frame_walk_agrees_with_pillow(tmp_path: Path) -> None:
    # Pillow's own writer: extensions, local colour tables, comments.
    path = saved(tmp_path, "pillow.gif", colours(5), duration=50, loop=0, comment=b"hi")
    with Image.open(path) as im:
        expected = getattr(im, "n_frames", 1)
    with path.open("rb") as fp:
        assert count_gif_frames(fp, stop_after=100) == expected == 5


def test_animated_webp_frames(tmp_path: Path) -> None:
    path = saved(tmp_path, "anim.webp", colours(4), format="WEBP", duration=50)
    assert probe_image(path, content_type="image/webp", max_pixels=MANY).frames == 4
    with pytest.raises(ProbeError) as caught:
        probe_image(path, content_type="image/webp", max_pixels=MANY, max_frames=3)
    assert caught.value.reason == "too_many_frames"
