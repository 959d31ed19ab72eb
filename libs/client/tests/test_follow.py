"""Following a job over SSE: parsing, and resuming a stream that ended early."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from photobus_client import PhotobusClient, RetryPolicy
from photobus_client.sse import parse_events


async def lines(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_events_are_parsed_with_comments_and_multiline_data() -> None:
    stream = lines(
        b": ping\n",
        b"event: job\n",
        b'data: {"a":\n',
        b"data: 1}\n",
        b"\n",
        b"data: x\r\n",
        b"\r\n",
    )
    events = [(e.event, e.data) for e in [e async for e in parse_events(stream)]]
    assert events == [("job", '{"a":\n1}'), ("message", "x")]


def job(status: str) -> str:
    body = {"job_id": "j", "status": status, "created": "2026-01-01T00:00:00Z", "items": []}
    return json.dumps(body)


async def test_follow_resumes_an_interrupted_stream_until_the_job_is_terminal() -> None:
    connections = 0

    async def events(request: web.Request) -> web.StreamResponse:
        nonlocal connections
        connections += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if connections == 1:
            await response.write(f"event: job\ndata: {job('processing')}\n\n".encode())
            return response  # ends without `end`, as when status's database goes away
        await response.write(
            f"event: job\ndata: {job('completed')}\n\nevent: end\ndata: {{}}\n\n".encode()
        )
        return response

    app = web.Application()
    app.router.add_get("/v1/jobs/{job_id}/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        policy = RetryPolicy(attempts=3, base_delay=0.01)
        async with PhotobusClient(url, status_url=url, retry=policy) as client:
            statuses = [j.status async for j in client.follow_job("j")]
    finally:
        await runner.cleanup()
    assert statuses == ["processing", "completed"]
    assert connections == 2


async def test_a_job_status_has_not_seen_yet_is_waited_for_then_unknown_is_an_error() -> None:
    from photobus_client.errors import ApiError
    from photobus_client.follow import follow_jobs

    asked = 0

    async def events(request: web.Request) -> web.StreamResponse:
        nonlocal asked
        asked += 1
        if request.match_info["job_id"] == "never" or asked == 1:
            return web.json_response({"error": "not_found", "detail": "no job"}, status=404)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(f"event: job\ndata: {job('completed')}\n\n".encode())
        return response

    app = web.Application()
    app.router.add_get("/v1/jobs/{job_id}/events", events)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    seen: list[str] = []
    try:
        policy = RetryPolicy(attempts=3, base_delay=0.01)
        async with PhotobusClient(url, status_url=url, retry=policy) as client:
            last = await follow_jobs(client, ["j"], lambda j: seen.append(j.status))
            with pytest.raises(ApiError) as caught:
                await follow_jobs(client, ["never"], lambda j: None)
    finally:
        await runner.cleanup()
    assert last["j"].status == "completed" and seen == ["completed"]
    assert caught.value.status == 404
