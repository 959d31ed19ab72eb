"""Imgur's response bodies, success and every failure shape seen from the real API (§A.8)."""

from __future__ import annotations

import math
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.faults import Fault

_ALPHABET = string.ascii_letters + string.digits
IMGUR_V1_JSON = "application/vnd.imgur.v1+json"
INVALID_TOKEN = "The access token provided is invalid."


def random_hash(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def envelope(request: web.Request, data: Any, status: int = 200) -> web.Response:
    """The `{"data", "success", "status"}` envelope; `?_fake_status=200` forces HTTP 200."""
    http_status = 200 if request.query.get("_fake_status") == "200" else status
    body = {"data": data, "success": status < 400, "status": status}
    return web.json_response(body, status=http_status)


def error(request: web.Request, status: int, message: str | dict[str, Any]) -> web.Response:
    data = {"error": message, "request": request.path, "method": request.method}
    return envelope(request, data, status)


def imgur_exception(code: int, message: str, kind: str = "ImgurException") -> dict[str, Any]:
    return {"code": code, "message": message, "type": kind, "exception": []}


def invalid_file(request: web.Request) -> web.Response:
    """What Imgur answers for non-image, corrupt or unsupported bytes (e.g. HEIC)."""
    return error(request, 400, imgur_exception(1003, "File type invalid (1)"))


def too_many_requests(request: web.Request, shape: str | None) -> web.Response:
    if shape == "errors":  # 2024-2025 edge layer: no envelope, its own content type
        body = {
            "errors": [
                {
                    "id": f"legacy-api-{uuid.uuid4()}",
                    "code": "429",
                    "status": "Too Many Requests",
                    "detail": "Too Many Requests",
                }
            ]
        }
        return web.json_response(body, status=429, content_type=IMGUR_V1_JSON)
    if shape == "string":
        return web.json_response(
            {"data": {"error": "Too Many Requests"}, "success": False, "status": 429}, status=429
        )
    message = "You are uploading too fast. Please wait 37 more minutes."
    return error(request, 429, imgur_exception(429, message))


def fault_response(request: web.Request, fault: Fault) -> web.Response:
    """An HTTP error status in the body Imgur is known to send with it."""
    status = fault.http_status or fault.code or 500
    if status == 429:
        response = too_many_requests(request, fault.shape)
    elif fault.shape == "string":  # 2025 CDN form: a bare string, no request/method keys
        body = {"data": {"error": "These actions are forbidden."}, "success": False}
        response = web.json_response({**body, "status": status}, status=status)
    elif status == 400:
        response = invalid_file(request)
    elif status == 403:
        response = error(request, 403, INVALID_TOKEN)
    elif status == 415:
        message = "File type invalid (1)"
        response = error(request, 415, imgur_exception(1003, message, "Exception_UploadError"))
    elif status == 417:
        response = error(request, 417, "Internal expectation failed")
    elif status >= 500:
        response = error(
            request, status, "Imgur is temporarily over capacity. Please try again later."
        )
    else:
        response = error(request, status, f"Fake error {status}")
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    if status == 429 and fault.retry_after is not None:
        # The budget headers agree with Retry-After: spent, and back when it says.
        wait = float(fault.retry_after)
        response.headers["X-RateLimit-UserRemaining"] = "0"
        response.headers["X-RateLimit-UserReset"] = str(math.ceil(time.time() + wait))
        response.headers["X-Post-Rate-Limit-Remaining"] = "0"
        response.headers["X-Post-Rate-Limit-Reset"] = str(math.ceil(wait))
    return response


@dataclass
class Credits:
    """The rate-limit budget behind the X-RateLimit-* headers (§A.7)."""

    user_limit: int = 2000
    user_remaining: int = 2000
    client_limit: int = 12500
    client_remaining: int = 12500
    post_limit: int = 1250
    post_remaining: int = 1250
    window_started: float = field(default_factory=time.time)

    def afford(self, cost: int, is_post: bool) -> bool:
        enough = self.user_remaining >= cost and self.client_remaining >= cost
        return enough and (not is_post or self.post_remaining >= 1)

    def charge(self, cost: int, is_post: bool) -> None:
        self.user_remaining = max(0, self.user_remaining - cost)
        self.client_remaining = max(0, self.client_remaining - cost)
        if is_post:
            self.post_remaining = max(0, self.post_remaining - 1)

    def headers(self) -> dict[str, str]:
        seconds_left = max(0, int(self.window_started + 3600 - time.time()))
        return {
            "X-RateLimit-UserLimit": str(self.user_limit),
            "X-RateLimit-UserRemaining": str(self.user_remaining),
            "X-RateLimit-UserReset": str(int(time.time()) + seconds_left),  # epoch
            "X-RateLimit-ClientLimit": str(self.client_limit),
            "X-RateLimit-ClientRemaining": str(self.client_remaining),
            "X-RateLimit-ClientReset": "86400",
            "X-Post-Rate-Limit-Limit": str(self.post_limit),
            "X-Post-Rate-Limit-Remaining": str(self.post_remaining),
            "X-Post-Rate-Limit-Reset": str(seconds_left),  # seconds, not epoch
        }

    def as_data(self) -> dict[str, int]:
        return {
            "UserLimit": self.user_limit,
            "UserRemaining": self.user_remaining,
            "UserReset": int(self.window_started) + 3600,
            "ClientLimit": self.client_limit,
            "ClientRemaining": self.client_remaining,
        }
