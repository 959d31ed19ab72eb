"""Every error a client sees is JSON: `{"error": "<code>", "detail": "<what to do>"}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from photobus_common.blobs import BlobStoreUnavailable
from photobus_common.broker import PublishError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


class BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "body_too_large",
            f"The request body is over the limit of {limit} bytes: "
            "send fewer or smaller files per request.",
        )


def error_response(
    status: int, code: str, detail: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


def unavailable(code: str, detail: str) -> web.Response:
    return error_response(503, code, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as e:
        response = error_response(e.status, e.code, e.detail)
        if e.status in (408, 413):
            # The client may still be sending (or stalled); do not read the rest of it.
            response.force_close()
        return response
    except PublishError as e:
        log.warning("RabbitMQ refused an upload's events: %s", e)
        return unavailable(
            "broker_unavailable",
            f"RabbitMQ did not confirm the upload's events ({e}); nothing was accepted. "
            f"Retry in {RETRY_AFTER_SECONDS} seconds: the same bytes give the same photo.",
        )
    except BlobStoreUnavailable as e:
        log.warning("blob store refused an upload: %s", e)
        return unavailable(
            "blob_store_unavailable",
            f"The blob store could not take the original ({e}); nothing was accepted. "
            f"Retry in {RETRY_AFTER_SECONDS} seconds.",
        )
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return error_response(e.status, _slug(e.reason), e.text or e.reason)


def _slug(reason: str) -> str:
    return reason.lower().replace(" ", "_")
