"""Publisher settings (`PHOTOBUS_*`): every destination's credentials and URLs, retry
tiers and the breaker. One class for the three services; each reads its own fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from photobus_common.events import Destination
from photobus_common.settings import CommonSettings


class PublisherSettings(CommonSettings):
    bind_host: str = "127.0.0.1"
    publisher_imgur_port: int = 8091  # health and metrics only
    publisher_flickr_port: int = 8092
    publisher_gphotos_port: int = 8093

    # Seconds before each retry; after the last one a delivery is `failed` (not permanent).
    publish_retry_delays: Annotated[tuple[float, ...], NoDecode] = (5, 30, 120, 600, 1800)
    # Calls in flight to one destination per process, and messages taken at once.
    publish_concurrency: int = Field(default=4, ge=1)
    # Consecutive transient failures that open the circuit, and how long it stays open.
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cool_down: float = Field(default=30.0, gt=0)
    # A claim older than this is taken over by another message for the same photo.
    claim_lease_seconds: float = Field(default=600.0, gt=0)
    # One HTTP call to a destination (an upload of a large photo included).
    destination_timeout: float = Field(default=120.0, gt=0)
    # CPU priority (Unix niceness) of the publisher process. Publishing is background
    # work that waits on the network; at 19 it only takes CPU that thumbnails and the
    # upload API leave over, and on an idle host it loses nothing.
    publisher_nice: int = Field(default=19, ge=0, le=19)
    # And under Linux's SCHED_IDLE policy: a core goes to thumbnails and uploads the
    # moment they want it (measured in bench/pipeline.py: publishers and fakes took
    # ~11 CPU-ms per photo while thumbnails were due at niceness 19, ~4 under SCHED_IDLE).
    publisher_cpu_idle: bool = True

    imgur_client_id: SecretStr | None = None
    imgur_client_secret: SecretStr | None = None
    imgur_refresh_token: SecretStr | None = None
    imgur_api_url: str = "https://api.imgur.com"

    flickr_api_key: SecretStr | None = None
    flickr_api_secret: SecretStr | None = None
    flickr_oauth_token: SecretStr | None = None
    flickr_oauth_token_secret: SecretStr | None = None
    flickr_rest_url: str = "https://api.flickr.com/services/rest/"
    flickr_upload_url: str = "https://up.flickr.com/services/upload/"

    gphotos_client_id: SecretStr | None = None
    gphotos_client_secret: SecretStr | None = None
    gphotos_refresh_token: SecretStr | None = None
    gphotos_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
    gphotos_api_url: str = "https://photoslibrary.googleapis.com"

    @field_validator("publish_retry_delays", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "imgur_client_id",
        "imgur_client_secret",
        "imgur_refresh_token",
        "flickr_api_key",
        "flickr_api_secret",
        "flickr_oauth_token",
        "flickr_oauth_token_secret",
        "gphotos_client_id",
        "gphotos_client_secret",
        "gphotos_refresh_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`PHOTOBUS_IMGUR_CLIENT_ID=` in a .env means not configured, not an empty secret."""
        return None if isinstance(value, str) and not value.strip() else value

    def port_for(self, destination: Destination) -> int:
        ports: dict[Destination, int] = {
            "imgur": self.publisher_imgur_port,
            "flickr": self.publisher_flickr_port,
            "gphotos": self.publisher_gphotos_port,
        }
        return ports[destination]


def secret(value: SecretStr | None) -> str:
    """A secret's value, '' when unset (destinations check `is_configured` first)."""
    return "" if value is None else value.get_secret_value()
