"""Structured JSON logging: one object per line, carrying the service and job_id."""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

# Third-party loggers that write credentials (OAuth tokens, signed URLs) below WARNING.
CREDENTIAL_LOGGERS = (
    "oauthlib",
    "requests_oauthlib",
    "urllib3",
    "flickrapi",
    "google.auth",
    "google_auth_oauthlib",
    "botocore",
    "aiobotocore",
)

job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if not hasattr(record, "job_id"):
            record.job_id = job_id_var.get()
        return True


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(job_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(service)s %(name)s [%(job_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiormq logs every reconnect attempt at WARNING with a traceback; ours say it once.
    logging.getLogger("aiormq").setLevel(logging.ERROR)
    logging.getLogger("aio_pika").setLevel(logging.ERROR)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # OAuth and HTTP client libraries log tokens and signed URLs at DEBUG/INFO: never ours.
    for name in CREDENTIAL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    """Tag every log line written inside the block with this job_id."""
    token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(token)
