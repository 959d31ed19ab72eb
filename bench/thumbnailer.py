"""Thumbnailer speed on one core: photobus `make_renditions` against plain Pillow and the floor.

Contenders, each making a 1440 px preview (JPEG) and a 256 px thumbnail (WebP) with
the same encoder settings (except the floor, which only decodes):
  photobus       make_renditions: draft decode, resize, ICC, orientation, JPEG + WebP
  pillow-plain   full decode, exif_transpose, Image.thumbnail() per size, JPEG + WebP
  jpeg-1/8       libjpeg-turbo decoding at 1/8 scale, nothing else: no pipeline beats it
  pyvips         thumbnail_buffer + jpegsave/webpsave, when pyvips is installed (not a dependency)
Photos: generated 12 and 24 MP JPEGs (bench/images.py) and the corpus camera and HEIC photos.
Everything runs under the malloc settings the render pool's workers get (pool.MALLOC_TUNING),
in a child process when this one was started without them. Wall time includes waiting for
the CPU on a busy machine; compare CPU time.

    uv run python -m bench.thumbnailer [--min-seconds 1.0]
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from photobus_thumbnailer.imaging import (
    JPEG_QUALITY,
    RENDITION_SIZES,
    RENDITIONS,
    WEBP_METHOD,
    WEBP_QUALITY,
    make_renditions,
    register_heif,
)
from photobus_thumbnailer.pool import MALLOC_TUNING
from PIL import Image, ImageOps

from bench.images import IMAGES, jpeg

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
Contender = Callable[[bytes], object]
PYVIPS_PACKAGES = ("pyvips", "pyvips-binary")
# The 1/8-scale floor exists only for JPEG; pyvips-binary's libheif has no HEVC decoder.
JPEG_ONLY = ("jpeg-1/8", "pyvips")
# Targets (issue 7): both renditions of a 24 MP JPEG within 1.6x the 1/8-scale decode,
# and less time than pyvips on the same files and sizes.
TARGET_VS_EIGHTH = 1.6
TARGET_VS_PYVIPS = 1.0


@dataclass(frozen=True)
class PhotoSet:
    name: str
    photos: list[bytes]
    megapixels: float  # of all photos together
    jpeg: bool = True  # the 1/8-scale floor only exists for JPEG


@dataclass(frozen=True)
class Timing:
    cpu_seconds: float  # per pass over the set
    wall_seconds: float


def photobus(data: bytes) -> object:
    return make_renditions(data)


def _encoded(image_format: str, im: Image.Image) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        im.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        im.save(out, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    return out.getvalue()


def pillow_plain(data: bytes) -> object:
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # decoded in full: thumbnail() can no longer use draft
        upright = ImageOps.exif_transpose(im)
        outputs = []
        for spec in RENDITIONS.values():
            copy = upright.copy()
            copy.thumbnail((spec.long_edge, spec.long_edge))
            outputs.append(_encoded(spec.format, copy.convert("RGB")))
        return outputs


def jpeg_eighth(data: bytes) -> object:
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (im.width // 8, im.height // 8))
        im.load()
        return im.size


def _pyvips() -> Contender | None:
    try:
        import pyvips
    except (ImportError, OSError):
        if not install_pyvips():
            return None
        try:
            import pyvips
        except (ImportError, OSError):
            return None
    # One thread and no operation cache: one core's work, and no reuse across passes.
    pyvips.concurrency_set(1)
    pyvips.cache_set_max(0)
    preview_edge, thumb_edge = RENDITION_SIZES.values()

    def vips(data: bytes) -> object:
        # Decoded once at shrink-on-load scale, kept in memory, the thumb made from it.
        preview = pyvips.Image.thumbnail_buffer(data, preview_edge).copy_memory()
        thumb = preview.thumbnail_image(thumb_edge)
        return [
            preview.jpegsave_buffer(Q=JPEG_QUALITY, strip=True),
            thumb.webpsave_buffer(Q=WEBP_QUALITY, effort=WEBP_METHOD, strip=True),
        ]

    return vips


def install_pyvips() -> bool:
    """Put pyvips (with its own libvips) into this venv for the benchmark only; it is
    deliberately not a dependency of any package."""
    command = ["uv", "pip", "install", "--python", sys.executable, *PYVIPS_PACKAGES]
    try:
        done = subprocess.run(command, capture_output=True, timeout=300, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return False
    importlib.invalidate_caches()
    return done.returncode == 0


def photo_sets() -> list[PhotoSet]:
    register_heif()
    sets = []
    for spec in IMAGES:
        sets.append(PhotoSet(spec.name, [jpeg(spec)], spec.megapixels))
    for name, pattern, is_jpeg in (("camera", "*.jpg", True), ("heic", "*.HEIC", False)):
        photos = [p.read_bytes() for p in sorted((CORPUS / name).glob(pattern))]
        if photos:
            label = f"corpus {name} ({len(photos)})"
            sets.append(PhotoSet(label, photos, _megapixels(photos), jpeg=is_jpeg))
    return sets


def _megapixels(photos: list[bytes]) -> float:
    total = 0.0
    for data in photos:
        with Image.open(io.BytesIO(data)) as im:
            total += im.width * im.height / 1e6
    return total


def measure(contender: Contender, photos: list[bytes], min_seconds: float) -> Timing:
    """Average CPU and wall time per pass over `photos`, after one warm-up pass."""
    for data in photos:
        contender(data)
    passes, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    while passes < 3 or time.process_time() - cpu0 < min_seconds:
        for data in photos:
            contender(data)
        passes += 1
    return Timing(
        (time.process_time() - cpu0) / passes,
        (time.perf_counter() - wall0) / passes,
    )


@dataclass(frozen=True)
class Interleaved:
    timings: dict[str, Timing]  # each contender's median pass
    photobus_over: dict[str, float]  # the median, over rounds, of photobus's CPU over each other's


def measure_interleaved(
    contenders: dict[str, Contender], photos: list[bytes], min_seconds: float, *, rounds: int = 9
) -> Interleaved:
    """Each contender's CPU and wall time per pass over `photos`, passes taken in turn, one
    contender after the other, round after round; and photobus's time over each other's.

    Measured one after the other instead, each for a second or so, the ratios between
    contenders moved with the speed of this shared machine (photobus over the 1/8 decode
    on the same 24 MP photo: 1.39 to 1.91 on the same code). Taken in turn, a slow spell
    slows neighbours alike: the ratios are taken within each round, photobus's pass
    beside the other's, and the median round's ratio is reported. The ratio of the
    median passes still moved from 1.55 to 1.76 between runs, as each median came from
    a different round.
    """
    for contender in contenders.values():  # warm-up: caches, lazy imports, the pool
        for data in photos:
            contender(data)
    passes: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
    deadline = time.process_time() + min_seconds * len(contenders)
    while len(passes["photobus"]) < rounds or time.process_time() < deadline:
        for name, contender in contenders.items():
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for data in photos:
                contender(data)
            passes[name].append((time.process_time() - cpu0, time.perf_counter() - wall0))
    timings = {
        name: Timing(
            statistics.median(cpu for cpu, _ in taken),
            statistics.median(wall for _, wall in taken),
        )
        for name, taken in passes.items()
    }
    mine = [cpu for cpu, _ in passes["photobus"]]
    photobus_over = {
        name: statistics.median(a / b for a, (b, _) in zip(mine, taken, strict=True))
        for name, taken in passes.items()
        if name != "photobus"
    }
    return Interleaved(timings, photobus_over)


def encoders(min_seconds: float) -> dict[str, object]:
    """Why the preview is a JPEG: encode time and size of a 24 MP photo's 1440 px preview
    as JPEG at three qualities and as WebP at every method (effort)."""
    preview = next(r for r in make_renditions(jpeg(IMAGES[2])).renditions if r.name == "preview")
    with Image.open(io.BytesIO(preview.data)) as im:
        image = im.convert("RGB")
    settings: dict[str, tuple[str, dict[str, int]]] = {
        f"jpeg q{q}": ("JPEG", {"quality": q}) for q in (75, 80, 85)
    }
    settings |= {
        f"webp q{WEBP_QUALITY} method {m}": ("WEBP", {"quality": WEBP_QUALITY, "method": m})
        for m in range(7)
    }
    rows: dict[str, object] = {}
    for label, (image_format, options) in settings.items():

        def encode(
            _: bytes, image_format: str = image_format, options: dict[str, int] = options
        ) -> object:
            out = io.BytesIO()
            image.save(out, image_format, **options)
            return out.tell()

        timing = measure(encode, [b""], min_seconds / 4)
        size = encode(b"")
        assert isinstance(size, int)
        rows[label] = {"cpu_ms": round(timing.cpu_seconds * 1000, 1), "bytes": size}
    return rows


def run(min_seconds: float = 1.0) -> dict[str, object]:
    if any(os.environ.get(name) != value for name, value in MALLOC_TUNING.items()):
        return _run_in_tuned_child(min_seconds)
    register_heif()
    # In this order each round: the floor right beside photobus, the slow plain Pillow last.
    contenders: dict[str, Contender] = {
        "photobus": photobus,
        "jpeg-1/8": jpeg_eighth,
    }
    notes = [
        f"one process, one core, malloc tuned as the render pool's workers; contenders in turn, median pass, ratios within a round (median round); preview JPEG "
        f"q{JPEG_QUALITY}, thumb WebP q{WEBP_QUALITY} method {WEBP_METHOD}"
    ]
    vips = _pyvips()
    if vips is None:
        notes.append("pyvips not installed: skipped")
    else:
        contenders["pyvips"] = vips
    contenders["pillow-plain"] = pillow_plain
    sets: dict[str, dict[str, object]] = {}
    for photo_set in photo_sets():
        rows: dict[str, dict[str, float]] = {}
        taking_part = {
            name: contender
            for name, contender in contenders.items()
            if photo_set.jpeg or name not in JPEG_ONLY
        }
        measured = measure_interleaved(taking_part, photo_set.photos, min_seconds)
        for name, timing in measured.timings.items():
            count = len(photo_set.photos)
            rows[name] = {
                "cpu_ms_per_photo": round(timing.cpu_seconds / count * 1000, 1),
                "wall_ms_per_photo": round(timing.wall_seconds / count * 1000, 1),
                "photos_per_s": round(count / timing.cpu_seconds, 2),
                "mp_per_s": round(photo_set.megapixels / timing.cpu_seconds, 1),
            }
        base = rows["photobus"]["cpu_ms_per_photo"]
        for row in rows.values():
            row["cpu_vs_photobus"] = round(row["cpu_ms_per_photo"] / base, 2)
        sets[photo_set.name] = {
            "megapixels": round(photo_set.megapixels, 1),
            "contenders": rows,
            # photobus time over each other's, within a round (median round): < 1.0
            # means photobus is faster.
            "photobus_over": {
                name: round(ratio, 2) for name, ratio in measured.photobus_over.items()
            },
        }
    return {
        "notes": notes,
        "sets": sets,
        "targets": targets(sets),
        "preview_encoders": encoders(min_seconds),
    }


def _run_in_tuned_child(min_seconds: float) -> dict[str, object]:
    """glibc reads its malloc settings at start-up: measure in a child that has them."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [sys.executable, "-m", "bench.thumbnailer", "--min-seconds", str(min_seconds)]
        command += ["--json", out.name]
        subprocess.run(command, env={**os.environ, **MALLOC_TUNING}, check=True)  # noqa: S603
        results: dict[str, object] = json.loads(Path(out.name).read_text())
        return results


def targets(sets: dict[str, dict[str, object]]) -> dict[str, object]:
    """The issue's targets on the 24 MP photos: met or not, with the worst ratio seen."""
    worst: dict[str, float] = {}
    for name, entry in sets.items():
        if not name.startswith("24mp"):
            continue
        over = entry["photobus_over"]
        assert isinstance(over, dict)
        for other in ("jpeg-1/8", "pyvips"):
            if other in over:
                worst[other] = max(worst.get(other, 0.0), over[other])
    result: dict[str, object] = {}
    for other, limit, label in (
        ("jpeg-1/8", TARGET_VS_EIGHTH, "24mp_photobus_over_eighth_decode"),
        ("pyvips", TARGET_VS_PYVIPS, "24mp_photobus_over_pyvips"),
    ):
        if other in worst:
            met = worst[other] <= limit if other == "jpeg-1/8" else worst[other] < limit
            result[label] = {"value": worst[other], "target": limit, "met": met}
        else:
            result[label] = "not measured"
    return result


def print_table(results: dict[str, object]) -> None:
    sets = results["sets"]
    assert isinstance(sets, dict)
    print(
        f"{'photos':<30} {'contender':<13} {'cpu ms':>8} {'wall ms':>8} {'photo/s':>8} "
        f"{'MP/s':>7} {'×photobus':>9}"
    )
    for set_name, entry in sets.items():
        for name, row in entry["contenders"].items():
            print(
                f"{set_name:<30} {name:<13} {row['cpu_ms_per_photo']:>8} "
                f"{row['wall_ms_per_photo']:>8} {row['photos_per_s']:>8} {row['mp_per_s']:>7} "
                f"{row['cpu_vs_photobus']:>9}"
            )
    print("\nencoding a 24 MP photo's 1440 px preview")
    methods = results["preview_encoders"]
    assert isinstance(methods, dict)
    for method, row in methods.items():
        print(f"  {method:<22} {row['cpu_ms']:>6} ms  {row['bytes']:>8} bytes")
    print("\ntargets (photobus CPU time over the other's, worst 24 MP photo)")
    goals = results["targets"]
    assert isinstance(goals, dict)
    for label, goal in goals.items():
        print(f"  {label}: {goal}")
    notes = results["notes"]
    assert isinstance(notes, list)
    for note in notes:
        print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--min-seconds", type=float, default=1.0, help="CPU time per measurement")
    parser.add_argument("--json", type=Path, help="write the results here instead of a table")
    args = parser.parse_args()
    results = run(args.min_seconds)
    if args.json:
        args.json.write_text(json.dumps(results))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
