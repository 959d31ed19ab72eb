"""`python -m photobus_thumbnailer`: make renditions for every received photo."""

from photobus_common.logs import configure_logging
from photobus_common.service import run

from photobus_thumbnailer.app import create_app
from photobus_thumbnailer.config import ThumbnailerSettings


def main() -> None:
    settings = ThumbnailerSettings()
    configure_logging("thumbnailer", level=settings.log_level, fmt=settings.log_format)
    run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.thumbnailer_port,
        api_keys_configured=settings.api_keys is not None,
    )


if __name__ == "__main__":
    main()
