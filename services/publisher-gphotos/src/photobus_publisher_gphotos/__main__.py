"""`python -m photobus_publisher_gphotos`: publish received photos to Google Photos."""

from photobus_common.logs import configure_logging
from photobus_common.publishing.app import create_publisher_app
from photobus_common.publishing.settings import PublisherSettings
from photobus_common.service import run

from photobus_publisher_gphotos.destination import GooglePhotosDestination


def main() -> None:
    settings = PublisherSettings()
    configure_logging("publisher-gphotos", level=settings.log_level, fmt=settings.log_format)
    app = create_publisher_app(settings, "gphotos", GooglePhotosDestination)
    run(
        app,
        host=settings.bind_host,
        port=settings.publisher_gphotos_port,
        api_keys_configured=settings.api_keys is not None,
        niceness=settings.publisher_nice,
        cpu_idle=settings.publisher_cpu_idle,
    )


if __name__ == "__main__":
    main()
