"""`python -m photobus_status`: fold every event into Postgres and serve the status API."""

from __future__ import annotations

from photobus_common.gctuning import collect_rarely
from photobus_common.logs import configure_logging
from photobus_common.service import run

from photobus_status.app import create_app
from photobus_status.config import StatusSettings


def main() -> None:
    settings = StatusSettings()
    configure_logging("status", level=settings.log_level, fmt=settings.log_format)
    collect_rarely()  # folding allocates many short-lived models
    run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.status_port,
        api_keys_configured=settings.api_keys is not None,
    )


if __name__ == "__main__":
    main()
