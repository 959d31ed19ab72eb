"""Configuration every photobus service shares, read from `PHOTOBUS_*` variables.

Settings are built in each service's `__main__`, never at import. A `.env` file in
the working directory works too, and so does a secrets directory
(`PHOTOBUS_SECRETS_DIR`, one file per variable, as Kubernetes mounts Secrets).
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _secrets_dir() -> str | None:
    path = os.environ.get("PHOTOBUS_SECRETS_DIR")
    return path if path and os.path.isdir(path) else None


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PHOTOBUS_", env_file=".env", extra="ignore", frozen=True
    )

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/photobus"
    namespace: str = Field(default="photobus", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    blob_url: str = "file://./var/blobs"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|text)$")
    # Seconds a publish may wait for RabbitMQ's confirm before it counts as failed.
    publish_timeout: float = 10.0

    def __init__(self, **values: Any) -> None:
        super().__init__(_secrets_dir=_secrets_dir(), **values)
