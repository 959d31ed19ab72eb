"""Ingest settings (`PHOTOBUS_*`)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from photobus_common.settings import CommonSettings, comma_or_json_list
from pydantic import Field, field_validator
from pydantic_settings import NoDecode

GIB = 1024**3
MIB = 1024**2


class IngestSettings(CommonSettings):
    bind_host: str = "127.0.0.1"
    ingest_port: int = 8080
    status_public_url: str = "http://127.0.0.1:8081"
    # The whole request body, every file and field together.
    max_upload_bytes: int = Field(default=2 * GIB, gt=0)
    # Decoded size budget per image; larger ones are refused as decompression bombs.
    max_pixels: int = Field(default=100_000_000, gt=0)
    max_items_per_job: int = Field(default=1000, gt=0)
    # Seconds an upload's body may stall before it is answered 408 (slow-client defence).
    upload_read_timeout: float = Field(default=60.0, gt=0)
    fetch_max_bytes: int = Field(default=100 * MIB, gt=0)
    fetch_timeout: float = Field(default=30.0, gt=0)
    # Networks URL fetches may reach although private/loopback (tests, an intranet NAS).
    fetch_allow_networks: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("fetch_allow_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        networks = comma_or_json_list(value)
        for network in networks if isinstance(networks, tuple) else ():
            ipaddress.ip_network(network, strict=False)  # a typo fails at start, not per fetch
        return networks
