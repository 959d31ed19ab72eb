"""Thumbnailer settings (`PHOTOBUS_*`)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from photobus_common.events import Destination
from photobus_common.settings import CommonSettings
from pydantic import Field, field_validator
from pydantic_settings import NoDecode


class ThumbnailerSettings(CommonSettings):
    bind_host: str = "127.0.0.1"
    thumbnailer_port: int = 8090  # health and metrics only
    # One decoding process per core: the work is CPU-bound and the GIL would serialise it.
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    max_pixels: int = 100_000_000
    # Address-space cap of each decoding process, so a hostile image cannot take the machine.
    worker_memory_limit_mb: int = 3072
    # The same `PHOTOBUS_PUBLISHERS` as ingest and status: a comma list or a JSON list.
    publishers: Annotated[tuple[Destination, ...], NoDecode] = ()

    @field_validator("publishers", mode="before")
    @classmethod
    def _publishers(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list | tuple):
            return tuple(str(v).strip() for v in value if str(v).strip())
        return value
