"""Hostile files, built in memory: decompression bombs, formats outside the allow-list, polyglots.

Used by the hostile-input tests of ingest, the thumbnailer and the end-to-end suite,
and as seeds of the fuzz targets. Every builder is deterministic and cheap: a bomb
is a few KB on the wire however many pixels it claims.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
# Pillow warns above this many pixels and refuses above twice as many.
PILLOW_WARNING_PIXELS = 89_478_485


def good_jpeg() -> bytes:
    """A real camera photo from the shared corpus."""
    return (CORPUS / "camera" / "Canon_40D.jpg").read_bytes()


def small_png(
    colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (64, 48)
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_header_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A PNG whose header claims `width`×`height` 8-bit RGB pixels, with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _png_chunk(b"IEND", b"")
    )


@functools.cache
def png_zero_bomb(side: int = 12_000) -> bytes:
    """A complete, valid greyscale PNG of side×side black pixels: a few hundred KB that
    decode to side² bytes. 12000² = 144 megapixels: over Pillow's warning limit, under
    its error limit, so Pillow alone would only warn and decode it."""
    rows = b"\0" * (side + 1) * 100  # a hundred rows: filter byte + one byte per pixel
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_RLE)  # RLE: fast on zeros
    data = b"".join(packer.compress(rows) for _ in range(side // 100))
    data += packer.compress(b"\0" * (side + 1) * (side % 100)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


def gif_many_frames(frames: int = 5000) -> bytes:
    """An animated GIF of `frames` 1×1 frames (about 20 bytes each)."""
    header = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\0\0\0"
    frame = (
        b"!\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 1/100 s delay
        + b",\0\0\0\0\x01\0\x01\0\0"  # image descriptor 1×1
        + b"\x02\x02\x44\x01\0"  # LZW min code size 2, one data sub-block
    )
    return header + loop + frame * frames + b";"


def jpeg_with_zip(marker: bytes = b"PHOTOBUS-POLYGLOT-ZIP-MARKER") -> bytes:
    """A real JPEG with a ZIP archive appended (a polyglot: both a photo and an archive)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("payload.html", marker + b"<script>alert(1)</script>")
    return good_jpeg() + archive.getvalue()


def _pillow_bytes(fmt: str, mode: str = "RGB", **params: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, (16, 16), "red" if mode != "1" else 1).save(out, fmt, **params)
    return out.getvalue()


def outside_the_allow_list() -> dict[str, bytes]:
    """Files in formats photobus does not accept, each a real (or realistic) file of its kind."""
    return {
        "psd": b"8BPS\x00\x01" + b"\0" * 6 + struct.pack(">HIIHH", 3, 16, 16, 8, 3) + b"\0" * 64,
        "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n"
        b"(%pipe%id) (w) file\nshowpage\n%%EOF\n",
        "pdf": _pillow_bytes("PDF"),
        "svg-with-script": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
        b'width="16" height="16"><script>alert(document.cookie)</script>'
        b'<image href="file:///etc/passwd"/></svg>',
        "fits": b"SIMPLE  =                    T".ljust(80)
        + b"BITPIX  =                    8".ljust(80)
        + b"NAXIS   =                    2".ljust(80)
        + b"NAXIS1  =                   16".ljust(80)
        + b"NAXIS2  =                   16".ljust(80)
        + b"END".ljust(80)
        + b"\0" * (2880 - 6 * 80 + 256),
        "ico": _pillow_bytes("ICO"),
        "bmp": _pillow_bytes("BMP"),
        "tga": _pillow_bytes("TGA"),
        "ppm": _pillow_bytes("PPM"),
        "pcx": _pillow_bytes("PCX"),
        "jpeg2000": _pillow_bytes("JPEG2000"),
        "xbm": _pillow_bytes("XBM", mode="1"),
        "dds": _pillow_bytes("DDS"),
        "html-named-jpg": b"<!doctype html><img src=x onerror=alert(1)>",
        "zip": b"PK\x03\x04" + b"\0" * 60,
        "elf": b"\x7fELF\x02\x01\x01" + b"\0" * 57,
    }
