"""Which files an upload sends: images named directly or found in folders.

A file is an image when its extension says so *and* its first bytes agree (the
same magic numbers ingest sniffs). Hidden files and folders (`.name`) are skipped.
Inside folders, files that do not even claim to be images (sidecars, READMEs) are
listed as ignored; a file that claims to be an image but is not is refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif"}
)
HEAD_BYTES = 32
ISO_BMFF_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)


def looks_like_image(head: bytes) -> bool:
    """True when the leading bytes are those of JPEG, PNG, GIF, WebP, TIFF, HEIF or AVIF."""
    return (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
        or head[:4] in (b"II*\x00", b"MM\x00*")
        or (head[4:8] == b"ftyp" and head[8:12] in ISO_BMFF_IMAGE_BRANDS)
    )


@dataclass(frozen=True)
class Refused:
    path: Path
    reason: str
    detail: str


@dataclass
class Discovery:
    images: list[Path] = field(default_factory=list)
    total_bytes: int = 0
    refused: list[Refused] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(folder: Path) -> Iterable[Path]:
    """Files under `folder`, hidden ones and hidden folders left out, in a stable order."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _hidden(d))
        for name in sorted(files):
            if not _hidden(name):
                yield Path(root) / name


def _classify(path: Path, found: Discovery, *, named: bool) -> None:
    if not path.is_file():
        found.refused.append(Refused(path, "not_a_file", "not a regular file"))
        return
    if path.suffix.lower() not in IMAGE_EXTENSIONS and not named:
        found.ignored.append(path)
        return
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as e:
        found.refused.append(Refused(path, "unreadable", e.strerror or str(e)))
        return
    if looks_like_image(head):
        found.images.append(path)
        found.total_bytes += path.stat().st_size
    else:
        found.refused.append(
            Refused(path, "not_an_image", "not a JPEG, PNG, GIF, WebP, TIFF, HEIC or AVIF file")
        )


def discover(paths: Iterable[Path]) -> Discovery:
    """Files named directly are checked as given; folders are walked recursively."""
    found = Discovery()
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            found.refused.append(Refused(path, "not_found", "no such file or folder"))
            continue
        candidates = _walk(path) if path.is_dir() else [path]
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            _classify(candidate, found, named=not path.is_dir())
    return found
