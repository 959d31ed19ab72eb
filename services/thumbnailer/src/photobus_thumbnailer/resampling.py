"""Shrinking an image to an exact size: the one step of a rendition that is not a codec.

Shaped like libvips' thumbnail: a box filter for the whole-number part of a large
ratio, a small interpolating step for the rest. Measured on one core
(bench/thumbnailer.py; PSNR against a Lanczos resize of the full decode, after the
preview's q80 encode):

- After the draft decode a preview is only 1.04-1.4x too large (1.6-1.9x for 16-20
  MP photos). Pillow's triangle filter there costs 19 ms for a 24 MP photo's preview
  and 23 ms for a 12 MP one's. OpenCV's bilinear interpolation (SIMD, two taps)
  costs 5-6 ms with the numpy round trip included, at the same quality up to 1.5x:
  within 0.2 dB of Pillow on a detailed camera photo at full resolution, better
  below 1.3x, and better on draft-decoded photos (which libjpeg's scaled IDCT has
  already smoothed). Past that it starts to skip source pixels (0.6 dB lower at
  1.7x), so Pillow keeps those.
- The thumb is 4-6x smaller than the preview: averaging whole blocks first
  (`reducing_gap=1`) and a bicubic for the remainder costs 2.6 ms against 5.9 ms
  with Pillow's thumbnail() default gap of 2.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
from PIL import Image

# The render pool runs one worker per core: OpenCV's own threads would only make
# the workers fight over the same cores.
cv2.setNumThreads(1)

# Up to this ratio two-tap interpolation still sees nearly every source pixel.
MAX_INTERPOLATION_RATIO: Final = 1.5
# Modes whose numpy view OpenCV resizes as they are: 8 bits a channel, no alpha to
# premultiply first (Pillow does that for RGBA and LA).
_INTERPOLATED_MODES: Final = frozenset({"L", "RGB"})


def fit(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`im` resampled down to `size` (never up: callers cap `size` at `im.size`)."""
    if im.size == size:
        return im
    ratio = max(im.width / size[0], im.height / size[1])
    if ratio <= MAX_INTERPOLATION_RATIO and im.mode in _INTERPOLATED_MODES:
        return _interpolated(im, size)
    if ratio < 2:
        return im.resize(size, Image.Resampling.BILINEAR)
    return im.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0)


def _interpolated(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    pixels = cv2.resize(np.asarray(im), size, interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(pixels, mode=im.mode)
