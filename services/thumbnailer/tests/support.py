"""Test helpers for the imaging core: the shared corpus, WebP and JPEG parsing, crafted files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"

# VP8X feature flags (libwebp container spec).
VP8X_ICC = 0x20
VP8X_ALPHA = 0x10
VP8X_EXIF = 0x08
VP8X_XMP = 0x04
VP8X_ANIMATION = 0x02


def corpus(relative: str) -> bytes:
    return (CORPUS / relative).read_bytes()


def riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (fourcc, payload) chunks of a WebP file; fails on anything that is not WebP."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP", data[:16]
    (riff_size,) = struct.unpack_from("<I", data, 4)
    assert riff_size + 8 == len(data)
    chunks, pos = [], 12
    while pos < len(data):
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        chunks.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    assert pos == len(data)
    return chunks


def jpeg_segments(data: bytes) -> list[tuple[int, bytes]]:
    """The (marker, payload) segments of a JPEG up to its first scan; fails on anything else."""
    assert data[:2] == b"\xff\xd8", data[:16]
    segments, pos = [], 2
    while True:
        assert data[pos] == 0xFF, (pos, data[pos : pos + 4])
        marker = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return segments
        pos += 2 + length


def carried_metadata(data: bytes) -> set[str]:
    """Which of icc, exif, xmp, comment and animation a WebP or JPEG rendition carries."""
    found = set()
    if data[:4] == b"RIFF":
        chunks = riff_chunks(data)
        kinds = {fourcc for fourcc, _ in chunks}
        assert kinds <= {
            b"VP8 ",
            b"VP8L",
            b"VP8X",
            b"ALPH",
            b"ICCP",
            b"EXIF",
            b"XMP ",
            b"ANIM",
            b"ANMF",
        }
        flags = chunks[0][1][0] if chunks[0][0] == b"VP8X" else 0
        for flag, chunk, name in (
            (VP8X_ICC, b"ICCP", "icc"),
            (VP8X_EXIF, b"EXIF", "exif"),
            (VP8X_XMP, b"XMP ", "xmp"),
            (VP8X_ANIMATION, b"ANIM", "animation"),
        ):
            if flags & flag or chunk in kinds:
                found.add(name)
        return found
    for marker, payload in jpeg_segments(data):
        if marker == 0xE1:
            found.add("xmp" if payload.startswith(b"http://ns.adobe.com/xap") else "exif")
        elif marker == 0xE2 and payload.startswith(b"ICC_PROFILE"):
            found.add("icc")
        elif marker == 0xFE:
            found.add("comment")
        elif 0xE3 <= marker <= 0xEF:
            found.add(f"APP{marker - 0xE0}")
    return found


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.copy()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims `width`x`height` but whose body is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def _s15f16(*values: float) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def adobe_rgb_like_icc() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with Adobe RGB (1998) primaries and gamma.

    Its green is far more saturated than sRGB's, so colours tagged with it must
    change numbers when converted to sRGB.
    """
    description = b"Adobe RGB-like test profile\x00"
    desc = (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(description))
        + description
        + b"\x00" * 8  # no Unicode description
        + b"\x00\x00\x00"  # no ScriptCode description
        + b"\x00" * 67
    )
    gamma = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(2.19921875 * 256)) + b"\x00\x00"

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + _s15f16(x, y, z)

    tags = [
        (b"desc", desc),
        (b"cprt", b"text\x00\x00\x00\x00No copyright, test data\x00"),
        (b"wtpt", xyz(0.96420, 1.0, 0.82491)),
        (b"rXYZ", xyz(0.60974, 0.31111, 0.01947)),
        (b"gXYZ", xyz(0.20528, 0.62567, 0.06087)),
        (b"bXYZ", xyz(0.14919, 0.06322, 0.74457)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        padded = data + b"\x00" * (-len(data) % 4)
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += padded
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + b"\x00\x00\x00\x00"  # preferred CMM
        + bytes([2, 0x10, 0, 0])  # version 2.1
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + _s15f16(0.9642, 1.0, 0.8249)  # D50 illuminant
        + b"\x00" * 4  # creator
        + b"\x00" * 44  # profile ID and reserved
    )
    assert len(header) == 128
    return header + table + body
