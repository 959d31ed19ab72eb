"""Settings of the status service, read from `PHOTOBUS_*` variables in `__main__`."""

from __future__ import annotations

from photobus_common.settings import CommonSettings
from pydantic import SecretStr


class StatusSettings(CommonSettings):
    status_port: int = 8081
    bind_host: str = "127.0.0.1"
    # Where the gallery's upload form posts (ingest; the same origin behind a gateway).
    ingest_public_url: str = "http://127.0.0.1:8080"
    # Signs the gallery's session cookies; random at start when unset (sessions then end
    # with the process, and replicas do not share them).
    session_secret: SecretStr | None = None

    @property
    def terminal_destinations_required(self) -> bool:
        """While `publishers` is empty, items complete without waiting for destinations."""
        return bool(self.publishers)
