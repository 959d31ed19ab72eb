"""Photograph-like JPEGs for benchmarks, generated once into var/bench-images/ and reused.

Smooth gradients plus texture and sensor-like noise at quality 90 compress and decode
like camera output; flat colours would flatter every decoder and encoder.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter

CACHE_DIR = Path(__file__).resolve().parent.parent / "var" / "bench-images"
ORIENTATION_TAG = 0x0112
GENERATOR_VERSION = 3  # bump when photo_like changes, so cached files are regenerated


@dataclass(frozen=True)
class BenchImage:
    name: str
    width: int
    height: int
    orientation: int = 1

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


IMAGES = (
    BenchImage("12mp", 4000, 3000),
    BenchImage("12mp-orientation6", 4000, 3000, orientation=6),
    BenchImage("24mp", 6000, 4000),
    BenchImage("24mp-orientation6", 6000, 4000, orientation=6),
)


def photo_like(width: int, height: int, *, seed: int = 0) -> Image.Image:
    """An RGB image with large smooth shapes, fine detail and noise, like a real photo."""
    rng = random.Random(seed)
    # Blurred coarse noise upscaled: soft, uneven regions of colour.
    coarse = Image.frombytes("RGB", (48, 32), rng.randbytes(48 * 32 * 3))
    base = coarse.filter(ImageFilter.GaussianBlur(2)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    # Gradient across the frame, like light falling off.
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    image = Image.blend(base, gradient, 0.3)
    # Texture at three scales, so that every rendition size still sees detail (plain
    # per-pixel noise averages out in a preview and would flatter the WebP encoder).
    fine = Image.effect_noise((width, height), 32)
    middle = Image.effect_noise((width // 4, height // 4), 48).resize((width, height))
    broad = Image.effect_noise((width // 16, height // 16), 64).resize((width, height))
    texture = Image.blend(Image.blend(fine, middle, 0.35), broad, 0.3).convert("RGB")
    return Image.blend(image, texture, 0.4)


def jpeg(spec: BenchImage, *, quality: int = 90) -> bytes:
    """The JPEG for `spec`, generated on first use and cached on disk."""
    path = CACHE_DIR / f"v{GENERATOR_VERSION}-{spec.name}-{spec.width}x{spec.height}-q{quality}.jpg"
    if not path.exists():
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        image = photo_like(spec.width, spec.height)
        exif = Image.Exif()
        if spec.orientation != 1:
            exif[ORIENTATION_TAG] = spec.orientation
        partial = path.with_suffix(".part")
        image.save(partial, "JPEG", quality=quality, exif=exif.tobytes())
        partial.replace(path)
    return path.read_bytes()


def all_images() -> dict[BenchImage, bytes]:
    return {spec: jpeg(spec) for spec in IMAGES}
