"""What kind of image a file is, judged from its first bytes alone.

Filenames and Content-Type headers are claims made by the sender; the magic
numbers are what the decoders will actually see, so they are all we trust.
"""

from __future__ import annotations

ALLOWED = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
    }
)
SNIFF_BYTES = 64
"""How many leading bytes `sniff_image_type` needs (fewer is fine for short files)."""

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"II+\x00", "image/tiff"),  # BigTIFF
    (b"MM\x00+", "image/tiff"),
)

# ISO base media (HEIF family) brands, most specific first.
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type of an allowed image format starting with `head`, or None."""
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return _sniff_iso_bmff(head)


def _sniff_iso_bmff(head: bytes) -> str | None:
    """HEIC/HEIF/AVIF from the brands of a leading `ftyp` box."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    if box_size < 16:
        return None
    end = min(box_size, len(head))
    major = head[8:12]
    compatible = [head[i : i + 4] for i in range(16, end - 3, 4)]
    # The major brand decides when it is specific; a generic major brand
    # (mif1) defers to the first specific compatible brand.
    for brand in (major, *compatible):
        if brand in _HEIC_BRANDS:
            return "image/heic"
        if brand in _AVIF_BRANDS:
            return "image/avif"
    if major in _HEIF_BRANDS or any(b in _HEIF_BRANDS for b in compatible):
        return "image/heif"
    return None
