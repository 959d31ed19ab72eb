"""Settings of the status service, read from `PHOTOBUS_*` variables in `__main__`."""

from __future__ import annotations

from typing import Annotated, Any

from photobus_common.events import Destination
from photobus_common.settings import CommonSettings
from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode


class StatusSettings(CommonSettings):
    status_port: int = 8081
    bind_host: str = "127.0.0.1"
    # Where the gallery's upload form posts (ingest; the same origin behind a gateway).
    ingest_public_url: str = "http://127.0.0.1:8080"
    # Signs the gallery's session cookies; random at start when unset (sessions then end
    # with the process, and replicas do not share them).
    session_secret: SecretStr | None = None
    # The publishers this deployment runs (`PHOTOBUS_PUBLISHERS=imgur,flickr`). While it is
    # empty, items complete without waiting for destinations (they stay `pending`).
    publishers: Annotated[tuple[Destination, ...], NoDecode] = ()

    @field_validator("publishers", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def terminal_destinations_required(self) -> bool:
        return bool(self.publishers)
