"""Configuration every photobus service shares, read from `PHOTOBUS_*` variables.

Settings are built in each service's `__main__`, never at import. A `.env` file in
the working directory works too, and so does a secrets directory
(`PHOTOBUS_SECRETS_DIR`, one file per variable, as Kubernetes mounts Secrets).
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from yarl import URL

from photobus_common.auth import ApiKeys
from photobus_common.events import Destination


def _secrets_dir() -> str | None:
    path = os.environ.get("PHOTOBUS_SECRETS_DIR")
    return path if path and os.path.isdir(path) else None


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PHOTOBUS_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        # A start-up error must not print the value: it may be a secret pasted in the wrong place.
        hide_input_in_errors=True,
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
    # `name:sha256-of-key,...`; unset means no auth, and every service listens on 127.0.0.1.
    api_keys: SecretStr | None = None
    # The publishers this deployment runs (`imgur,flickr` or a JSON list): every service
    # declares their queues at start, and status waits for them before a job completes.
    publishers: Annotated[tuple[Destination, ...], NoDecode] = ()

    def __init__(self, **values: Any) -> None:
        super().__init__(_secrets_dir=_secrets_dir(), **values)

    @field_validator("api_keys")
    @classmethod
    def _parse_api_keys(cls, value: SecretStr | None) -> SecretStr | None:
        # A malformed entry fails at start; an empty list is no keys at all.
        if value is None or not ApiKeys.parse(value.get_secret_value()):
            return None
        return value

    @field_validator("publishers", mode="before")
    @classmethod
    def _parse_publishers(cls, value: Any) -> Any:
        return comma_or_json_list(value)

    @property
    def api_key_table(self) -> ApiKeys:
        return ApiKeys.parse(self.api_keys.get_secret_value()) if self.api_keys else ApiKeys()

    def __repr_args__(self) -> Any:
        # Connection URLs may carry a password (amqp://user:pass@host): never print it.
        for name, value in super().__repr_args__():
            yield name, _without_password(value) if isinstance(value, str) else value


def comma_or_json_list(value: Any) -> Any:
    """`a,b` or `["a", "b"]` (an environment variable) as a tuple of trimmed strings."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") else text.split(",")
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return value


def _without_password(value: str) -> str:
    if "@" not in value or "://" not in value:
        return value
    try:
        url = URL(value)
    except ValueError:
        return "**********"
    return str(url.with_password("**********")) if url.password else value
