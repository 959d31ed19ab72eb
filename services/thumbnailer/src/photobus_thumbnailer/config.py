"""Thumbnailer settings (`PHOTOBUS_*`)."""

from __future__ import annotations

import os

from photobus_common.settings import CommonSettings
from pydantic import Field


class ThumbnailerSettings(CommonSettings):
    bind_host: str = "127.0.0.1"
    thumbnailer_port: int = 8090  # health and metrics only
    # One decoding process per core: the work is CPU-bound and the GIL would serialise it.
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    max_pixels: int = 100_000_000
    # Address-space cap of each decoding process, so a hostile image cannot take the machine.
    worker_memory_limit_mb: int = 3072
