"""The photos the chaos client uploads: distinct small JPEGs made from a seed, plus a
few real camera files from the corpus (EXIF, odd sizes)."""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from tests.support.client import CORPUS

WIDTH, HEIGHT = 640, 480
CORPUS_FILES = ("camera/Canon_40D.jpg", "camera/Nikon_D70.jpg", "orientation/Landscape_3.jpg")


@dataclass(frozen=True)
class Photo:
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def synthetic_jpeg(rng: random.Random, label: str) -> bytes:
    """A gradient with a few shapes and a label: cheap to make, unique, realistic size."""
    image = Image.linear_gradient("L").resize((WIDTH, HEIGHT)).convert("RGB")
    tint = Image.new("RGB", (WIDTH, HEIGHT), tuple(rng.randrange(256) for _ in range(3)))
    image = Image.blend(image, tint, rng.uniform(0.3, 0.8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 8)):
        x, y = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        box = (x, y, x + rng.randint(20, 200), y + rng.randint(20, 200))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    draw.text((10, 10), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(70, 92))
    return out.getvalue()


def make_photos(count: int, seed: int) -> list[Photo]:
    """`count` photos with distinct bytes; the first few are corpus files when there is room."""
    rng = random.Random(seed)
    photos = [Photo(name.rsplit("/", 1)[-1], (CORPUS / name).read_bytes()) for name in CORPUS_FILES]
    photos = photos[: max(0, count // 10)]
    index = 0
    while len(photos) < count:
        photos.append(
            Photo(
                f"chaos-{seed}-{index:04d}.jpg", synthetic_jpeg(rng, f"seed {seed} photo {index}")
            )
        )
        index += 1
    return photos
