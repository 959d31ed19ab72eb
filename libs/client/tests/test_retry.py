"""Retries: 503 with Retry-After and lost connections, against a local aiohttp server."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from pathlib import Path

import pytest
from aiohttp import web
from photobus_client import PhotobusClient, RetryPolicy, ServerBusy, ServerUnreachable
from photobus_client.client import parse_retry_after
from photobus_client.errors import ApiError, AuthError
from photobus_client.retry import with_retries

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


class Ingest:
    """Answers `busy` 503s (Retry-After: 1), then 202; records what each attempt received."""

    def __init__(self, busy: int, retry_after: str = "1") -> None:
        self.busy = busy
        self.retry_after = retry_after
        self.received: list[tuple[float, bytes]] = []

    async def post_job(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        self.received.append((time.monotonic(), upload.file.read()))
        if len(self.received) <= self.busy:
            body = {"error": "broker_unavailable", "detail": "RabbitMQ is away"}
            return web.json_response(body, status=503, headers={"Retry-After": self.retry_after})
        assert form["tags"] == "a,b"
        return web.json_response(
            {
                "job_id": "job1",
                "status_url": "http://status.example:8081/v1/jobs/job1",
                "items": [{"item_id": "i1", "filename": upload.filename, "photo_id": "p1"}],
            },
            status=202,
        )


async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def busy_twice() -> AsyncIterator[tuple[Ingest, str]]:
    ingest = Ingest(busy=2)
    app = web.Application()
    app.router.add_post("/v1/jobs", ingest.post_job)
    async for url in serve(app):
        yield ingest, url


async def test_upload_retries_503_after_retry_after_then_succeeds(
    busy_twice: tuple[Ingest, str], tmp_path: Path
) -> None:
    ingest, url = busy_twice
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff" + b"x" * 300_000)
    progress: list[int] = []
    retries: list[float] = []
    async with PhotobusClient(
        url, retry=FAST, on_retry=lambda attempt, wait, e: retries.append(wait)
    ) as client:
        from photobus_client.models import UploadOptions

        job = await client.upload_files([photo], UploadOptions(tags=("a", "b")), progress.append)
    assert job.job_id == "job1"
    assert [data for _, data in ingest.received] == [photo.read_bytes()] * 3
    gaps = [b[0] - a[0] for a, b in zip(ingest.received, ingest.received[1:], strict=False)]
    assert retries == [0.05, 0.05]  # Retry-After: 1, capped by the policy's max_delay
    assert all(gap >= 0.05 for gap in gaps)
    assert sum(progress) == photo.stat().st_size  # retries took back what they re-sent
    assert client.status_url == "http://status.example:8081"  # learned from ingest


async def test_retry_after_is_honoured_up_to_the_policy_cap(
    busy_twice: tuple[Ingest, str], tmp_path: Path
) -> None:
    ingest, url = busy_twice
    ingest.busy = 1
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xffdata")
    async with PhotobusClient(url, retry=RetryPolicy(attempts=2, max_delay=30)) as client:
        from photobus_client.models import UploadOptions

        await client.upload_files([photo], UploadOptions(tags=("a", "b")))
    (first, _), (second, _) = ingest.received
    assert second - first >= 1.0


async def test_giving_up_raises_server_busy_with_retry_after(
    busy_twice: tuple[Ingest, str], tmp_path: Path
) -> None:
    ingest, url = busy_twice
    ingest.busy = 99
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xffdata")
    async with PhotobusClient(url, retry=RetryPolicy(attempts=3, max_delay=0.01)) as client:
        with pytest.raises(ServerBusy) as caught:
            await client.upload_files([photo])
    assert caught.value.retry_after == 1.0
    assert caught.value.code == "broker_unavailable"
    assert len(ingest.received) == 3


async def test_connection_errors_are_retried_then_reported_unreachable() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ServerUnreachable("http://x", "connection refused")
        return "ok"

    assert await with_retries(flaky, FAST) == "ok"
    assert calls == 3
    async with PhotobusClient("http://127.0.0.1:9", retry=FAST) as client:
        with pytest.raises(ServerUnreachable, match="unreachable"):
            await client.job("x")


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise AuthError(401, "unauthorized", "bad key")

    with pytest.raises(AuthError, match="PHOTOBUS_API_KEY"):
        await with_retries(refused, FAST)
    assert calls == 1


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=5)
    error = ServerUnreachable("http://x", "refused")
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        assert 0 <= policy.delay(attempt, error) <= ceiling
    assert policy.delay(1, ServerBusy("busy", "", retry_after=3)) == 3


def test_retry_after_in_seconds_or_http_date() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = parse_retry_after(formatdate(time.time() + 60, usegmt=True))
    assert later is not None and 55 <= later <= 60


async def test_api_key_is_sent_and_refusals_are_auth_errors() -> None:
    seen: list[str | None] = []

    async def photo(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        if request.match_info["photo_id"] == "missing":
            return web.json_response({"error": "not_found", "detail": "no photo"}, status=404)
        return web.json_response({"error": "forbidden", "detail": "unknown key"}, status=403)

    app = web.Application()
    app.router.add_get("/v1/photos/{photo_id}", photo)
    async for url in serve(app):
        async with PhotobusClient(url, status_url=url, api_key="s3cret", retry=FAST) as client:
            assert await client.photo("missing") is None
            with pytest.raises(AuthError) as caught:
                await client.photo("other")
    assert isinstance(caught.value, ApiError) and caught.value.status == 403
    assert seen == ["Bearer s3cret", "Bearer s3cret"]
