"""Prometheus metrics shared by every service, and the aiohttp pieces that expose them."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

MESSAGES = Counter(
    "photobus_messages_total",
    "Messages handled, by queue and outcome (acked, retried, dead_lettered, published:<type>).",
    ["queue", "outcome"],
)
IN_FLIGHT = Gauge("photobus_in_flight", "Work items being handled right now.", ["kind"])
HTTP_REQUESTS = Counter(
    "photobus_http_requests_total",
    "HTTP requests by route and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "photobus_http_request_seconds", "HTTP request latency by route.", ["route", "method"]
)


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    info = request.match_info.route.resource
    route = info.canonical if info is not None else "unmatched"
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
        HTTP_LATENCY.labels(route, request.method).observe(time.perf_counter() - start)


async def metrics_handler(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})
