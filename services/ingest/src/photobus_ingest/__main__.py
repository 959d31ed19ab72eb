"""`python -m photobus_ingest`: the upload API and the URL-fetch worker."""

from photobus_common.gctuning import collect_rarely
from photobus_common.logs import configure_logging
from photobus_common.service import run

from photobus_ingest.app import create_app
from photobus_ingest.config import IngestSettings


def main() -> None:
    settings = IngestSettings()
    configure_logging("ingest", level=settings.log_level, fmt=settings.log_format)
    collect_rarely()  # each upload allocates requests, parts and events by the hundred
    run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.ingest_port,
        api_keys_configured=settings.api_keys is not None,
    )


if __name__ == "__main__":
    main()
